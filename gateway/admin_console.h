#pragma once
// AdminConsole: the interactive prompt an officer (or client reviewer) gets with
// `ssh -t officer@bastion` — the admin command set line by line, never a shell. It is pure: bytes
// in, bytes out, commands run through the injected runner, so it is unit-tested without SSH.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::gateway {

class AdminConsole {
 public:
  // Runner runs one command line split into words; it appends the command's output to `out`
  // (plain "\n" newlines: the console converts them for a terminal) and returns its exit status.
  using Runner = std::function<int(const std::vector<std::string>& args, std::string& out)>;

  // With a terminal (pty) the console echoes keystrokes and edits the line itself; without one,
  // input is read as plain lines and nothing is echoed.
  AdminConsole(std::string account, bool terminal, Runner run);

  // greeting returns the banner and the first prompt.
  std::string greeting() const;
  // feed consumes operator input and returns what to send back.
  std::string feed(std::string_view input);
  // finished is true after "exit", "quit" or Ctrl-D on an empty line.
  bool finished() const { return finished_; }

  static constexpr std::size_t kMaxLine = 4096;

 private:
  std::string prompt() const;
  void on_byte(char c, std::string& out);
  void execute(std::string& out);
  std::string to_terminal(const std::string& text) const;

  std::string account_;
  bool terminal_;
  Runner run_;
  std::string line_;
  int escape_ = 0;  // inside an ANSI escape sequence (arrow keys): bytes to drop
  bool last_was_cr_ = false;
  bool finished_ = false;
};

}  // namespace bastion::gateway
