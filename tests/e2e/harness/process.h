#pragma once
// Process: one child program with an explicit environment, stdin from a string or a file, stdout and
// stderr to files (or captured in memory), in its own process group; killed (the whole group) and
// reaped on destruction, so a failing test never leaves a daemon behind.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bastion::e2e {

using Env = std::map<std::string, std::string>;

// base_env: the few variables every child needs (PATH, HOME, USER, LOGNAME, LANG, and the sanitizer
// options ASAN_OPTIONS, LSAN_OPTIONS, UBSAN_OPTIONS when set) taken from this process, nothing
// else: children do not see the test runner's environment.
Env base_env();

struct ExitStatus {
  bool exited = false;     // exited normally: code is valid
  int code = -1;
  int signal = 0;          // killed by this signal
  bool timed_out = false;  // the deadline passed first (the process was killed by run(), not by wait())
  // exit_code: code if exited, 128 + signal if signalled, -1 on timeout: what a shell would report.
  int exit_code() const;
  std::string describe() const;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in env's PATH
  Env env = base_env();
  std::optional<std::string> stdin_data;  // stdin content; if neither this nor stdin_file: /dev/null
  std::string stdin_file;
  std::string stdout_file;  // empty: captured in memory (out())
  std::string stderr_file;  // empty: captured in memory (err()); == stdout_file: both into one file
  std::string cwd;
};

class Process {
 public:
  explicit Process(SpawnOptions opts);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;

  pid_t pid() const { return pid_; }
  // running: not yet reaped and still alive.
  bool running();
  // wait returns the exit status once the process ends, or std::nullopt if it is still running when
  // timeout passes (it is left running).
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  // signal sends sig to the process itself; kill_group to its whole process group.
  void signal(int sig);
  void kill_group(int sig);
  // terminate: SIGTERM, then SIGKILL to the group after grace; returns how it ended.
  ExitStatus terminate(std::chrono::milliseconds grace);

  // out and err return what was captured in memory, or the content of stdout_file/stderr_file.
  std::string out() const;
  std::string err() const;
  const std::vector<std::string>& argv() const { return argv_; }

 private:
  std::string read_stream(int fd, const std::string& file) const;

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  int out_fd_ = -1, err_fd_ = -1;  // memfds when captured
  std::string out_file_, err_file_;
};

struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
  int exit() const { return status.exit_code(); }
  // describe: "exit 3; stdout: …; stderr: …" for assertion messages.
  std::string describe() const;
};

// run spawns argv, waits up to timeout (then kills its group and reports timed_out) and returns its
// exit status and the output captured in memory (a stream sent to a file is not read back).
RunResult run(const std::vector<std::string>& argv, const Env& env = base_env(),
              std::optional<std::string> stdin_data = std::nullopt,
              std::chrono::milliseconds timeout = std::chrono::seconds(60));
RunResult run(SpawnOptions opts, std::chrono::milliseconds timeout);

// run_in_pty runs argv with a new pseudo-terminal of the given size as its controlling terminal and
// stdin/stdout/stderr (as a person at a terminal would), types `input` into it, and returns
// everything the terminal showed in out (err stays empty).
RunResult run_in_pty(const std::vector<std::string>& argv, const Env& env, const std::string& input, int cols,
                     int rows, std::chrono::milliseconds timeout);

}  // namespace bastion::e2e
