#include "audit/asciicast.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Utf8Sequence describes what a lead byte promises: how many continuation bytes follow and the
// allowed range of the first one (narrowed for E0, ED, F0 and F4 so that overlong forms,
// surrogates and code points above U+10FFFF are ill-formed, per Unicode table 3-7).
struct Utf8Sequence {
  int continuations = -1;  // -1: the byte cannot start a sequence
  unsigned char first_lo = 0x80;
  unsigned char first_hi = 0xBF;
};

Utf8Sequence sequence_of(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return {1};
  if (lead == 0xE0) return {2, 0xA0, 0xBF};
  if (lead == 0xED) return {2, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {2};
  if (lead == 0xF0) return {3, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {3};
  if (lead == 0xF4) return {3, 0x80, 0x8F};
  return {};
}

// seconds_text renders elapsed time the way asciinema itself does: fixed, microsecond precision.
std::string seconds_text(std::chrono::nanoseconds elapsed) {
  double s = std::chrono::duration<double>(elapsed).count();
  if (s < 0) s = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", s);
  return buf;
}

// dump never throws: text that is not UTF-8 (a title taken from an exec command line) is replaced.
std::string dump(const ordered_json& j) { return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace); }

std::string header_line(const AsciicastHeader& h) {
  ordered_json j;
  j["version"] = 2;
  j["width"] = h.width;
  j["height"] = h.height;
  j["timestamp"] = h.timestamp;
  j["env"] = ordered_json{{"TERM", h.term}, {"SHELL", h.shell}};
  j["title"] = h.title;
  return dump(j) + "\n";
}

}  // namespace

// ---- Utf8Carry ----------------------------------------------------------------------------------

void Utf8Carry::feed(std::string_view bytes, std::string& out) {
  if (pending_.empty()) {
    decode(bytes, out);
    return;
  }
  // Rare path: a sequence was split between calls. Join the (at most 3) pending bytes with the new
  // input; pending_ is rebuilt by decode, so move it out first.
  std::string joined = std::move(pending_);
  pending_.clear();
  joined.append(bytes);
  decode(joined, out);
}

void Utf8Carry::finish(std::string& out) {
  if (!pending_.empty()) out.append(kReplacement);
  pending_.clear();
}

void Utf8Carry::decode(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    const Utf8Sequence seq = sequence_of(lead);
    if (seq.continuations < 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    // Count how many continuation bytes are valid; stop at the first that is not.
    std::size_t good = 0;
    while (good < static_cast<std::size_t>(seq.continuations) && i + 1 + good < s.size()) {
      const auto c = static_cast<unsigned char>(s[i + 1 + good]);
      const unsigned char lo = good == 0 ? seq.first_lo : 0x80;
      const unsigned char hi = good == 0 ? seq.first_hi : 0xBF;
      if (c < lo || c > hi) break;
      ++good;
    }
    const std::size_t length = 1 + good;
    if (good == static_cast<std::size_t>(seq.continuations)) {
      out.append(s.substr(i, length));
    } else if (i + length == s.size()) {
      pending_.assign(s.substr(i));  // valid so far, cut short by the end of this piece
      return;
    } else {
      out.append(kReplacement);  // the maximal subpart s[i, i+length) is ill-formed; resume after it
    }
    i += length;
  }
}

// ---- AsciicastWriter ----------------------------------------------------------------------------

Result<AsciicastWriter> AsciicastWriter::create(int fd, const AsciicastHeader& header,
                                                const MonotonicClock& clock) {
  return create(plain_sink(fd), header, clock);
}

Result<AsciicastWriter> AsciicastWriter::create(RecordingSinkPtr sink, const AsciicastHeader& header,
                                                const MonotonicClock& clock) {
  AsciicastWriter w(std::move(sink), clock);
  if (!w.sink_->append(header_line(header))) return Error{errno_text("cannot write asciicast header")};
  return w;
}

Utf8Carry& AsciicastWriter::carry_of(Stream s) {
  switch (s) {
    case Stream::Input:
      return input_;
    case Stream::Output:
      return output_;
    case Stream::Error:
      return error_;
  }
  return output_;  // unreachable: every enumerator is handled above
}

bool AsciicastWriter::write(Stream s, std::string_view bytes) {
  if (failed_) return false;
  std::string text;
  carry_of(s).feed(bytes, text);
  if (text.empty()) return true;
  return write_event(s == Stream::Input ? "i" : "o", text);
}

bool AsciicastWriter::resize(int cols, int rows) {
  if (failed_) return false;
  return write_event("r", std::to_string(cols) + "x" + std::to_string(rows));
}

bool AsciicastWriter::finish() {
  if (failed_) return false;
  for (Stream s : {Stream::Input, Stream::Output, Stream::Error}) {
    std::string text;
    carry_of(s).finish(text);
    if (!text.empty() && !write_event(s == Stream::Input ? "i" : "o", text)) return false;
  }
  if (!sink_->finish()) failed_ = true;
  return !failed_;
}

bool AsciicastWriter::write_event(std::string_view code, std::string_view data) {
  // One line, one write(2): the time is formatted by hand (fixed precision, as asciinema writes
  // it), the strings are escaped by nlohmann::json.
  std::string line = "[" + seconds_text(stopwatch_.elapsed()) + ", " + dump(ordered_json(code)) + ", " +
                     dump(ordered_json(data)) + "]\n";
  if (!sink_->append(line)) failed_ = true;
  return !failed_;
}

// ---- parse_asciicast ----------------------------------------------------------------------------

namespace {

// Line is one line of the file without its '\n'; `complete` is false only for a final line that
// the file ends in the middle of.
struct Line {
  std::string_view text;
  bool complete = true;
};

std::vector<Line> split_lines(std::string_view file) {
  std::vector<Line> lines;
  while (!file.empty()) {
    const std::size_t nl = file.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back({file, false});
      break;
    }
    lines.push_back({file.substr(0, nl), true});
    file.remove_prefix(nl + 1);
  }
  return lines;
}

bool positive_int(const json& j, const char* key, int& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  const auto v = it->get<std::int64_t>();
  if (v <= 0 || v > 100000) return false;
  out = static_cast<int>(v);
  return true;
}

// optional_string sets out to j[key] if present; false if present but not a string.
bool optional_string(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

Result<AsciicastHeader> parse_header(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error{"asciicast line 1: the header is not a JSON object"};
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<std::int64_t>() != 2) {
    return Error{"asciicast line 1: not asciicast version 2"};
  }
  AsciicastHeader h;
  if (!positive_int(j, "width", h.width) || !positive_int(j, "height", h.height)) {
    return Error{"asciicast line 1: width and height must be positive integers"};
  }
  if (auto ts = j.find("timestamp"); ts != j.end()) {
    if (!ts->is_number_integer()) return Error{"asciicast line 1: timestamp is not an integer"};
    h.timestamp = ts->get<std::int64_t>();
  }
  if (auto env = j.find("env"); env != j.end() && !env->is_null()) {
    if (!env->is_object() || !optional_string(*env, "TERM", h.term) || !optional_string(*env, "SHELL", h.shell)) {
      return Error{"asciicast line 1: env is not an object of strings"};
    }
  }
  if (!optional_string(j, "title", h.title)) return Error{"asciicast line 1: title is not a string"};
  return h;
}

Result<AsciicastEvent> parse_event(std::string_view text, std::size_t line_no) {
  const auto where = "asciicast line " + std::to_string(line_no) + ": ";
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() != 3 || !j[0].is_number() || !j[1].is_string() || !j[2].is_string()) {
    return Error{where + "not an event [time, code, data]"};
  }
  AsciicastEvent e{j[0].get<double>(), j[1].get<std::string>(), j[2].get<std::string>()};
  if (!std::isfinite(e.time) || e.time < 0) return Error{where + "event time is negative or not finite"};
  return e;
}

}  // namespace

Result<Asciicast> parse_asciicast(std::string_view file) {
  const std::vector<Line> lines = split_lines(file);
  if (lines.empty() || !lines[0].complete) return Error{"asciicast: no complete header line"};
  auto header = parse_header(lines[0].text);
  if (!header) return header.error();

  Asciicast cast{std::move(header.value()), {}, false};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].text.empty() && lines[i].complete) continue;  // tolerate blank lines
    auto event = parse_event(lines[i].text, i + 1);
    if (!event) {
      if (!lines[i].complete) {  // the file ends in the middle of this event: a crash, not tampering
        cast.truncated = true;
        break;
      }
      return event.error();
    }
    if (!cast.events.empty() && event->time < cast.events.back().time) {
      return Error{"asciicast line " + std::to_string(i + 1) + ": event time goes backwards"};
    }
    cast.events.push_back(std::move(event.value()));
  }
  return cast;
}

}  // namespace bastion::audit
