#include "gateway/admin_console.h"

#include "authz/operation.h"

namespace bastion::gateway {

AdminConsole::AdminConsole(std::string account, bool terminal, Runner run)
    : account_(std::move(account)), terminal_(terminal), run_(std::move(run)) {}

std::string AdminConsole::prompt() const { return account_ + "@bastion> "; }

std::string AdminConsole::greeting() const {
  return to_terminal("Bastion admin console for " + account_ +
                     ". Type `help` for the commands, `exit` to leave. There is no shell here.\n") +
         prompt();
}

std::string AdminConsole::to_terminal(const std::string& text) const {
  if (!terminal_) return text;
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string AdminConsole::feed(std::string_view input) {
  std::string out;
  for (char c : input) {
    if (finished_) break;
    on_byte(c, out);
  }
  return out;
}

void AdminConsole::on_byte(char c, std::string& out) {
  const auto u = static_cast<unsigned char>(c);
  if (escape_ > 0) {  // ESC [ X or ESC O X: drop until the final byte
    if (escape_ == 1 && (c == '[' || c == 'O')) {
      escape_ = 2;
    } else if (u >= 0x40 && u <= 0x7e) {
      escape_ = 0;
    } else if (escape_ == 1) {
      escape_ = 0;
    }
    return;
  }
  bool cr = c == '\r';
  bool lf_after_cr = c == '\n' && last_was_cr_;
  last_was_cr_ = cr;
  if (lf_after_cr) return;  // CRLF is one end of line
  switch (c) {
    case '\r':
    case '\n':
      if (terminal_) out += "\r\n";
      execute(out);
      return;
    case 0x7f:
    case '\b':
      if (!line_.empty()) {
        line_.pop_back();
        if (terminal_) out += "\b \b";
      }
      return;
    case 0x03:  // Ctrl-C: abandon the line
      line_.clear();
      if (terminal_) out += "^C\r\n" + prompt();
      return;
    case 0x04:  // Ctrl-D on an empty line: leave
      if (line_.empty()) {
        if (terminal_) out += "\r\n";
        finished_ = true;
      }
      return;
    case 0x15:  // Ctrl-U: erase the line
      if (terminal_)
        for (std::size_t i = 0; i < line_.size(); ++i) out += "\b \b";
      line_.clear();
      return;
    case 0x1b:
      escape_ = 1;
      return;
    default:
      break;
  }
  if (u < 0x20 && c != '\t') return;  // other control bytes are ignored
  if (line_.size() >= kMaxLine) return;
  line_ += c;
  if (terminal_) out += c;
}

void AdminConsole::execute(std::string& out) {
  std::string line = std::move(line_);
  line_.clear();
  auto words = authz::split_command_line(line);
  std::string result;
  if (!words) {
    result = "bastion: " + words.error().message + "\n";
  } else if (words->empty()) {
    // nothing typed
  } else if ((*words)[0] == "exit" || (*words)[0] == "quit" || (*words)[0] == "logout") {
    finished_ = true;
    return;
  } else {
    run_(*words, result);
  }
  out += to_terminal(result);
  out += prompt();
}

}  // namespace bastion::gateway
