#include "tests/e2e/harness/live.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <regex>
#include <sstream>

#include "tests/e2e/harness/sshd_target.h"
#include "tests/e2e/harness/util.h"

namespace bastion::e2e {

bool mentions(const std::string& text, const std::string& regex) {
  return std::regex_search(text, std::regex(regex, std::regex::icase | std::regex::extended));
}

long long now_unix() { return static_cast<long long>(std::time(nullptr)); }

WallClock::time_point parse_utc(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') throw HarnessError("not a UTC time YYYY-MM-DDTHH:MM:SSZ: '" + text + "'");
  return WallClock::from_time_t(::timegm(&tm));
}

double seconds_between(WallClock::time_point a, WallClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------------------------------------------
// LiveClient

LiveClient::LiveClient(std::vector<std::string> argv, const Env& env, const std::string& fifo_path) {
  if (::mkfifo(fifo_path.c_str(), 0600) != 0) throw HarnessError("mkfifo " + fifo_path + ": " + std::strerror(errno));
  // O_RDWR never blocks on a FIFO (Linux) and makes this end a writer, so the child's O_RDONLY open
  // returns at once and the client sees no EOF while we hold it.
  write_fd_ = ::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC);
  if (write_fd_ < 0) throw HarnessError("open " + fifo_path + ": " + std::strerror(errno));
  SpawnOptions o;
  o.argv = std::move(argv);
  o.env = env;
  o.stdin_file = fifo_path;
  proc_ = std::make_unique<Process>(std::move(o));
}

LiveClient::~LiveClient() { close_stdin(); }

void LiveClient::type(const std::string& text) {
  if (write_fd_ < 0) throw HarnessError("LiveClient::type after close_stdin");
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(write_fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw HarnessError(std::string("write to the client's stdin: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

void LiveClient::close_stdin() {
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
}

bool LiveClient::running() { return !wait(std::chrono::milliseconds(0)).has_value(); }

std::optional<ExitStatus> LiveClient::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto reaped = [&] {
    if (auto s = proc_->wait(std::chrono::milliseconds(0))) {
      status_ = *s;
      ended_at_ = WallClock::now();
      return true;
    }
    return false;
  };
  if (timeout.count() == 0) {
    reaped();
  } else {
    // Poll at a fixed short step: the moment of the ending is what some tests measure.
    const auto deadline = Clock::now() + timeout;
    while (!reaped() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

bool LiveClient::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  bool found = false;
  wait_until(
      [&] {
        found = (out() + err()).find(needle) != std::string::npos;
        return found || !running();
      },
      timeout);
  return found || (out() + err()).find(needle) != std::string::npos;
}

RunResult LiveClient::result() {
  RunResult r;
  if (auto s = wait(std::chrono::milliseconds(0))) r.status = *s;
  else r.status.timed_out = true;
  r.out = out();
  r.err = err();
  return r;
}

// ---------------------------------------------------------------------------------------------------
// EchoServer

namespace {

sockaddr_in loopback_address(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

EchoServer::EchoServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw HarnessError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a = loopback_address(0);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(listen_fd_);
    throw HarnessError(std::string("echo server on 127.0.0.1:0: ") + std::strerror(errno));
  }
  port_ = ntohs(a.sin_port);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw HarnessError(std::string("pipe2: ") + std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  char c = 'x';
  (void)!::write(stop_pipe_[1], &c, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void EchoServer::serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++connections_;
    char buf[16384];
    while (true) {
      pollfd cf[2] = {{c, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(cf, 2, -1) < 0 && errno != EINTR) break;
      if (cf[1].revents != 0) break;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::write(c, buf + off, static_cast<std::size_t>(n - off));
        if (w <= 0) break;
        off += w;
      }
    }
    ::close(c);
  }
}

std::optional<std::string> tcp_round_trip(int port, const std::string& data, std::chrono::milliseconds timeout) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return std::nullopt;
  sockaddr_in a = loopback_address(port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return std::nullopt;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(s, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  ::shutdown(s, SHUT_WR);
  std::string got;
  const auto deadline = Clock::now() + timeout;
  char buf[16384];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::read(s, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  return got;
}

// ---------------------------------------------------------------------------------------------------
// SshAgent

SshAgent::SshAgent(const std::string& dir) : socket_(dir + "/agent.sock") {
  make_dirs(dir);
  SpawnOptions o;
  o.argv = {"ssh-agent", "-D", "-a", socket_};
  o.stdout_file = dir + "/agent.log";
  o.stderr_file = dir + "/agent.log";
  proc_ = std::make_unique<Process>(std::move(o));
  if (!wait_until([&] { return file_exists(socket_) || !proc_->running(); }, std::chrono::seconds(10)) ||
      !file_exists(socket_)) {
    throw HarnessError("ssh-agent did not create " + socket_ + ": " + tail_file(dir + "/agent.log"));
  }
  const std::string key = dir + "/agent_key";
  ssh_keygen(key, "in-the-agent");
  Env env = base_env();
  env["SSH_AUTH_SOCK"] = socket_;
  RunResult add = run({"ssh-add", key}, env, std::nullopt, std::chrono::seconds(10));
  if (add.exit() != 0) throw HarnessError("ssh-add: " + add.describe());
  RunResult fp = run({"ssh-keygen", "-l", "-f", key + ".pub"});
  std::istringstream in(fp.out);
  std::string bits;
  in >> bits >> fingerprint_;
  if (fingerprint_.rfind("SHA256:", 0) != 0) throw HarnessError("ssh-keygen -l: " + fp.describe());
}

SshAgent::~SshAgent() {
  if (proc_) proc_->terminate(std::chrono::seconds(2));
}

// ---------------------------------------------------------------------------------------------------
// Multiplexed

Multiplexed::Multiplexed(const OperatorIdentity& who, const std::string& control_path, std::string user)
    : who_(who),
      user_(user.empty() ? who.user() : std::move(user)),
      control_({"-o", "ControlMaster=auto", "-o", "ControlPath=" + control_path, "-o", "ControlPersist=120"}) {}

Multiplexed::~Multiplexed() {
  RunResult check = e2e::run(ssh({}, {"-O", "check"}), who_.env(), std::nullopt, std::chrono::seconds(10));
  std::smatch m;
  int pid = std::regex_search(check.err, m, std::regex("pid=([0-9]+)")) ? std::stoi(m[1]) : 0;
  e2e::run(ssh({}, {"-O", "exit"}), who_.env(), std::nullopt, std::chrono::seconds(10));
  if (pid > 0 && !wait_until([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(5))) ::kill(pid, SIGKILL);
}

std::vector<std::string> Multiplexed::ssh(const std::vector<std::string>& command,
                                          const std::vector<std::string>& extra) const {
  std::vector<std::string> opts = control_;
  opts.insert(opts.end(), extra.begin(), extra.end());
  return who_.ssh(user_, command, opts);
}

RunResult Multiplexed::run(const std::vector<std::string>& command, std::optional<std::string> stdin_data,
                           const std::vector<std::string>& extra) const {
  return e2e::run(ssh(command, extra), who_.env(), std::move(stdin_data), std::chrono::seconds(30));
}

// ---------------------------------------------------------------------------------------------------

std::vector<nlohmann::json> sessions_of(const Bastion& b, const std::string& operator_name) {
  std::vector<nlohmann::json> out;
  for (auto& s : b.ctl_json({"sessions", "list", "--operator", operator_name})) out.push_back(s);
  return out;
}

std::vector<nlohmann::json> events_of_kind(const Bastion& b, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (auto& e : b.ctl_json({"audit", "list", "--kind", kind})) out.push_back(e);
  return out;
}

}  // namespace bastion::e2e
