#pragma once
// Small helpers shared by the end-to-end harness: a hermetic temporary directory, files, polling with
// a deadline (never a bare sleep as synchronisation), loopback ports.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace bastion::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// TempDir: a fresh mkdtemp directory (mode 0700) under $TMPDIR or /tmp, removed recursively on
// destruction unless the environment has BASTION_KEEP_TMP=1 (then its path is printed instead).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "bastion-e2e");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // sub returns path()/name, creating it as a directory (0700) when mkdir is true.
  std::string sub(std::string_view name, bool mkdir = false) const;

 private:
  std::string path_;
};

// HarnessError: a step of the harness itself failed (could not start sshd, bastionctl refused a set-up
// command…). GoogleTest reports the exception's message as the test's failure.
struct HarnessError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void write_file(const std::string& path, std::string_view content, int mode = 0600);
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
void make_dirs(const std::string& path, int mode = 0700);
// tail returns the last max_bytes of a file (for error messages); "" if it cannot be read.
std::string tail_file(const std::string& path, std::size_t max_bytes = 4000);

// wait_until polls pred every few milliseconds until it returns true (returns true) or timeout passes
// (returns false). This is how the harness waits for readiness: a condition with a deadline.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// free_port binds 127.0.0.1:0, reads the port the kernel picked and closes the socket. The port can be
// taken by someone else before it is used: callers that bind it retry with another one.
int free_port();

// tcp_connectable: a TCP connection to 127.0.0.1:port succeeds right now.
bool tcp_connectable(int port);

// current_user: the login name of the effective user (getpwuid(geteuid())).
std::string current_user();

// trim removes leading and trailing ASCII whitespace.
std::string trim(std::string_view s);

// shell_quote quotes s for a POSIX shell with single quotes.
std::string shell_quote(std::string_view s);

}  // namespace bastion::e2e
