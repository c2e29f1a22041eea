#include "web/typed_lines.h"

#include <nlohmann/json.hpp>

namespace bastion::web {
namespace {

// is_input_event: the line is an asciicast event whose code is "i" ([time, "i", data]). A cheap
// look before the JSON parse, so output events (nearly all of a recording) are never parsed.
bool is_input_event(std::string_view line) {
  if (line.empty() || line.front() != '[') return false;
  const auto comma = line.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view rest = line.substr(comma + 1);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return rest.starts_with("\"i\"");
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

void TypedLines::feed_line(std::string_view line) {
  if (!is_input_event(line)) return;
  const auto event = nlohmann::json::parse(line, nullptr, false);
  if (!event.is_array() || event.size() != 3 || !event[0].is_number() || !event[2].is_string()) return;
  feed_input(event[0].get<double>(), event[2].get_ref<const std::string&>());
}

void TypedLines::pop_char() {
  while (!current_.empty() && is_continuation(current_.back())) current_.pop_back();
  if (!current_.empty()) current_.pop_back();
}

void TypedLines::pop_word() {
  while (!current_.empty() && current_.back() == ' ') current_.pop_back();
  while (!current_.empty() && current_.back() != ' ') current_.pop_back();
}

void TypedLines::end_line(double time) {
  if (!current_.empty()) {
    if (lines_.size() < kMaxMarkers) {
      std::string label = current_;
      if (label.size() > kMaxLabelBytes) {
        std::size_t cut = kMaxLabelBytes;
        while (cut > 0 && is_continuation(label[cut])) --cut;  // never split a character
        label.resize(cut);
        label += "…";
      }
      lines_.push_back({time, std::move(label), inexact_});
    } else {
      ++dropped_;
    }
  }
  current_.clear();
  inexact_ = false;
}

void TypedLines::feed_input(double time, std::string_view keys) {
  for (const char ch : keys) {
    const auto c = static_cast<unsigned char>(ch);
    if (escape_ != Escape::None) {
      // ESC [ params… final, ESC O x, or ESC x: cursor and function keys. Skipped, but the line
      // was edited in a way only the screen shows.
      inexact_ = true;
      if (escape_ == Escape::Started) {
        escape_ = c == '[' ? Escape::Csi : c == 'O' ? Escape::Ss3 : Escape::None;
      } else if (escape_ == Escape::Ss3 || (c >= 0x40 && c <= 0x7E)) {
        escape_ = Escape::None;
      }
      continue;
    }
    switch (c) {
      case '\r':
      case '\n': end_line(time); break;
      case 0x1B: escape_ = Escape::Started; break;
      case 0x7F:
      case 0x08: pop_char(); break;
      case 0x15: current_.clear(); break;          // Ctrl-U: kill the line
      case 0x17: pop_word(); break;                // Ctrl-W: kill a word
      case 0x03: current_.clear(); inexact_ = false; break;  // Ctrl-C: the line is abandoned
      default:
        if (c < 0x20) {
          inexact_ = true;  // Tab (completion), Ctrl-R (history search), …
        } else if (current_.size() < 4 * kMaxLabelBytes) {
          current_ += ch;
        }
    }
  }
}

}  // namespace bastion::web
