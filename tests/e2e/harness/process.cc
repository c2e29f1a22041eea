#include "tests/e2e/harness/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

Env base_env() {
  Env env;
  // The sanitizer settings too, so that a sanitized bastiond or bastionctl (scripts/test
  // --sanitize) reports where the run looks for findings and stops at the first one.
  for (const char* name : {"PATH", "HOME", "USER", "LOGNAME", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  if (env.find("PATH") == env.end()) env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  env["LANG"] = "C.UTF-8";
  return env;
}

int ExitStatus::exit_code() const {
  if (timed_out) return -1;
  if (exited) return code;
  return 128 + signal;
}

std::string ExitStatus::describe() const {
  if (timed_out) return "timed out";
  if (exited) return "exit " + std::to_string(code);
  return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::string RunResult::describe() const {
  auto clip = [](const std::string& s) { return s.size() > 3000 ? s.substr(0, 3000) + "…" : s; };
  return status.describe() + "\n--- stdout ---\n" + clip(out) + "\n--- stderr ---\n" + clip(err);
}

namespace {

int open_memfd(const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) throw HarnessError(std::string("memfd_create: ") + std::strerror(errno));
  return fd;
}

int open_or_throw(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) throw HarnessError("open " + path + ": " + std::strerror(errno));
  return fd;
}

// Exec is everything the child needs, built before fork so the child only makes system calls.
struct Exec {
  std::vector<std::string> env_strings;
  std::vector<char*> argv, envp;
  std::string path;  // resolved argv[0]

  Exec(const std::vector<std::string>& args, const Env& env) {
    if (args.empty()) throw HarnessError("spawn: empty argv");
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    path = resolve(args[0], env);
  }

  static std::string resolve(const std::string& name, const Env& env) {
    if (name.find('/') != std::string::npos) return name;
    auto it = env.find("PATH");
    std::string paths = it == env.end() ? "/usr/bin:/bin" : it->second;
    size_t start = 0;
    while (start <= paths.size()) {
      size_t end = paths.find(':', start);
      if (end == std::string::npos) end = paths.size();
      std::string cand = paths.substr(start, end - start) + "/" + name;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
      start = end + 1;
    }
    throw HarnessError("spawn: " + name + " not found in PATH " + paths);
  }

  [[noreturn]] void exec_in_child() {
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
};

[[noreturn]] void child_fail() { ::_exit(126); }

}  // namespace

Process::Process(SpawnOptions opts) : argv_(opts.argv), out_file_(opts.stdout_file), err_file_(opts.stderr_file) {
  Exec ex(opts.argv, opts.env);

  int in_fd = -1;
  if (opts.stdin_data) {
    in_fd = open_memfd("stdin");
    const std::string& d = *opts.stdin_data;
    size_t off = 0;
    while (off < d.size()) {
      ssize_t n = ::write(in_fd, d.data() + off, d.size() - off);
      if (n < 0) throw HarnessError(std::string("write stdin memfd: ") + std::strerror(errno));
      off += static_cast<size_t>(n);
    }
    ::lseek(in_fd, 0, SEEK_SET);
  } else if (!opts.stdin_file.empty()) {
    in_fd = open_or_throw(opts.stdin_file, O_RDONLY);
  } else {
    in_fd = open_or_throw("/dev/null", O_RDONLY);
  }
  int o = out_file_.empty() ? (out_fd_ = open_memfd("stdout")) : open_or_throw(out_file_, O_WRONLY | O_CREAT | O_TRUNC);
  int e = err_file_.empty()            ? (err_fd_ = open_memfd("stderr"))
          : err_file_ == out_file_ ? o  // one log for both streams
                                   : open_or_throw(err_file_, O_WRONLY | O_CREAT | O_TRUNC);

  pid_t pid = ::fork();
  if (pid < 0) throw HarnessError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::dup2(in_fd, 0) < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) child_fail();
    ::close_range(3, ~0U, 0);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) child_fail();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ex.exec_in_child();
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  pid_ = pid;
  ::close(in_fd);
  if (out_fd_ < 0) ::close(o);
  if (err_fd_ < 0 && e != o) ::close(e);
}

Process::Process(Process&& other) noexcept
    : argv_(std::move(other.argv_)),
      pid_(other.pid_),
      status_(other.status_),
      out_fd_(other.out_fd_),
      err_fd_(other.err_fd_),
      out_file_(std::move(other.out_file_)),
      err_file_(std::move(other.err_file_)) {
  other.pid_ = -1;
  other.out_fd_ = other.err_fd_ = -1;
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    if (!status_) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool Process::running() { return !wait(std::chrono::milliseconds(0)).has_value(); }

std::optional<ExitStatus> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto reap = [&] {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r != pid_) return false;
    ExitStatus s;
    if (WIFEXITED(st)) {
      s.exited = true;
      s.code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
      s.signal = WTERMSIG(st);
    }
    status_ = s;
    return true;
  };
  if (timeout.count() == 0) {
    reap();
  } else {
    wait_until(reap, timeout);
  }
  return status_;
}

void Process::signal(int sig) {
  if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

void Process::kill_group(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

ExitStatus Process::terminate(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto s = wait(grace)) return *s;
  kill_group(SIGKILL);
  auto s = wait(std::chrono::seconds(10));
  if (!s) throw HarnessError("process " + argv_[0] + " survived SIGKILL");
  return *s;
}

std::string Process::read_stream(int fd, const std::string& file) const {
  if (fd < 0) return file.empty() ? "" : read_file(file);
  std::string out;
  char buf[65536];
  off_t off = 0;
  while (true) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

std::string Process::out() const { return read_stream(out_fd_, out_file_); }
std::string Process::err() const { return read_stream(err_fd_, err_file_); }

RunResult run(SpawnOptions opts, std::chrono::milliseconds timeout) {
  const bool o_captured = opts.stdout_file.empty(), e_captured = opts.stderr_file.empty();
  Process p(std::move(opts));
  RunResult r;
  if (auto s = p.wait(timeout)) {
    r.status = *s;
  } else {
    p.kill_group(SIGKILL);
    p.wait(std::chrono::seconds(10));
    r.status.timed_out = true;
  }
  // Streams sent to files stay there (they may be GiBs): read them from the file if needed.
  if (o_captured) r.out = p.out();
  if (e_captured) r.err = p.err();
  return r;
}

RunResult run(const std::vector<std::string>& argv, const Env& env, std::optional<std::string> stdin_data,
              std::chrono::milliseconds timeout) {
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.stdin_data = std::move(stdin_data);
  return run(std::move(o), timeout);
}

RunResult run_in_pty(const std::vector<std::string>& argv, const Env& env, const std::string& input, int cols,
                     int rows, std::chrono::milliseconds timeout) {
  Exec ex(argv, env);
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
    throw HarnessError(std::string("openpty: ") + std::strerror(errno));
  }
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) throw HarnessError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setsid();
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) child_fail();
    if (::dup2(slave, 0) < 0 || ::dup2(slave, 1) < 0 || ::dup2(slave, 2) < 0) child_fail();
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ex.exec_in_child();
  }
  ::close(slave);

  RunResult r;
  const auto deadline = Clock::now() + timeout;
  size_t written = 0;
  bool eof = false;
  int st = 0;
  bool reaped = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{master, static_cast<short>(POLLIN | (written < input.size() ? POLLOUT : 0)), 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && (pfd.revents & POLLOUT) && written < input.size()) {
      ssize_t w = ::write(master, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
    }
    if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[8192];
      ssize_t got = ::read(master, buf, sizeof buf);
      if (got > 0) r.out.append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR) eof = true;  // EIO: every slave fd is closed
    }
    if (!reaped && ::waitpid(pid, &st, WNOHANG) == pid) reaped = true;
  }
  ::close(master);
  if (!reaped) {
    // Output ended (or the deadline passed): give the child until the deadline to exit.
    reaped = wait_until([&] { return ::waitpid(pid, &st, WNOHANG) == pid; },
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::max(deadline - Clock::now(), Clock::duration::zero())));
  }
  if (!reaped) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    r.status.timed_out = true;
    return r;
  }
  if (WIFEXITED(st)) {
    r.status.exited = true;
    r.status.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    r.status.signal = WTERMSIG(st);
  }
  return r;
}

}  // namespace bastion::e2e
