#include "gateway/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "authz/ban_subject.h"

namespace bastion::gateway {

std::string Peer::to_string() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

Result<std::pair<std::string, int>> parse_listen(const std::string& spec) {
  std::string host;
  std::string port;
  if (!spec.empty() && spec.front() == '[') {
    auto close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      return Error{"listen address '" + spec + "' must be [IPV6]:PORT"};
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos) return Error{"listen address '" + spec + "' must be HOST:PORT"};
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Error{"listen port '" + port + "' is not a number"};
  int p = std::stoi(port);
  if (p > 65535) return Error{"listen port " + port + " is out of range"};
  return std::make_pair(host, p);
}

Result<Listener> Listener::bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return Error{"cannot resolve listen address " + host + ": " + gai_strerror(rc)};
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      int bound = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      freeaddrinfo(res);
      return Listener(fd, bound);
    }
    last_error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  return Error{"cannot listen on " + host + ":" + service + ": " + last_error};
}

Listener::Listener(Listener&& other) noexcept : fd_(other.fd_), port_(other.port_) { other.fd_ = -1; }

Listener::~Listener() {
  if (fd_ >= 0) close(fd_);
}

namespace {

Peer peer_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  Peer p;
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    p.port = ntohs(a->sin6_port);
  } else {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    p.port = ntohs(a->sin_port);
  }
  p.address = buf;
  return p;
}

// The write end of this session process's pre-auth pipe (-1 in the listener and once released).
int g_preauth_fd = -1;

}  // namespace

void leave_preauth() {
  if (g_preauth_fd < 0) return;
  char done = 'A';
  (void)!write(g_preauth_fd, &done, 1);
  close(g_preauth_fd);
  g_preauth_fd = -1;
}

void release_preauth_pipe() {
  if (g_preauth_fd < 0) return;
  close(g_preauth_fd);
  g_preauth_fd = -1;
}

int Listener::preauth_count(const std::string& address) const {
  const std::string subject = authz::source_subject(address);
  int n = 0;
  for (const auto& p : preauth_) n += p.address == subject ? 1 : 0;
  return n;
}

std::string Listener::admit(const std::string& address, const Hooks& hooks, const PreAuthLimits& limits) const {
  if (hooks.banned && hooks.banned(address)) return "banned source";
  if (preauth_count() >= limits.max_total)
    return "over the cap of " + std::to_string(limits.max_total) + " unauthenticated connections";
  const bool proxy = hooks.trusted_proxy && hooks.trusted_proxy(address);
  if (!proxy && preauth_count(address) >= limits.max_per_source)
    return "over the cap of " + std::to_string(limits.max_per_source) + " unauthenticated connections per source";
  return "";
}

void Listener::forget_preauth(const std::function<bool(const PreAuth&)>& done) {
  std::erase_if(preauth_, [&](const PreAuth& p) {
    if (!done(p)) return false;
    close(p.fd);
    return true;
  });
}

// note_drop counts a dropped connection; report_drops logs the counts about once a second, so a
// flood of connections does not become a flood of log lines.
void Listener::note_drop(const std::string& address, const std::string& why) {
  ++drops_[why];
  last_dropped_ = address;
}

void Listener::report_drops() {
  for (const auto& [why, n] : drops_)
    spdlog::warn("closed {} connection(s) at once ({}; latest from {})", n, why, last_dropped_);
  drops_.clear();
}

void Listener::spawn(int conn, const Peer& peer, const ConnectionHandler& handler) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spdlog::error("cannot create a pipe for the connection from {}: {}", peer.to_string(), std::strerror(errno));
    close(conn);
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    spdlog::error("fork failed for connection from {}: {}", peer.to_string(), std::strerror(errno));
    close(conn);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return;
  }
  if (pid == 0) {
    close(fd_);
    close(pipe_fds[0]);
    for (const auto& p : preauth_) close(p.fd);
    g_preauth_fd = pipe_fds[1];
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_IGN);  // a reload is the daemon's business; live sessions carry on
    signal(SIGCHLD, SIG_DFL);
    signal(SIGUSR1, SIG_IGN);  // the stop notice means something only once authenticated
    _exit(handler(conn, peer));
  }
  close(conn);
  close(pipe_fds[1]);
  preauth_.push_back({pid, authz::source_subject(peer.address), pipe_fds[0]});
  children_.insert(pid);
}

void Listener::reap(const Hooks& hooks) {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (WIFSIGNALED(status)) spdlog::warn("session process {} killed by signal {}", pid, WTERMSIG(status));
    forget_preauth([pid](const PreAuth& p) { return p.pid == pid; });
    children_.erase(pid);
    if (hooks.on_child_exit) hooks.on_child_exit(pid, status);
  }
}

Listener::DrainReport Listener::drain(std::chrono::seconds grace, const Hooks& hooks) {
  using namespace std::chrono_literals;
  using SteadyClock = std::chrono::steady_clock;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  // Unauthenticated connections hold no session: they end at once and count in no total.
  std::set<int> sessions = children_;
  for (const auto& p : preauth_) {
    kill(p.pid, SIGTERM);
    sessions.erase(p.pid);
  }
  // wait_until reaps until every process of `sessions` is gone or the deadline passes, adding
  // the ones that ended to `counter`.
  auto wait_until = [&](SteadyClock::time_point deadline, int& counter) {
    for (;;) {
      reap(hooks);
      std::erase_if(sessions, [&](int pid) {
        if (children_.count(pid)) return false;
        ++counter;
        return true;
      });
      if (sessions.empty() || SteadyClock::now() >= deadline) return;
      poll(nullptr, 0, 50);
    }
  };
  DrainReport report;
  for (int pid : sessions) kill(pid, SIGUSR1);
  wait_until(SteadyClock::now() + grace, report.ended);
  if (!sessions.empty()) {
    spdlog::warn("stop: the grace of {} s is over; cutting {} session process(es)", grace.count(), sessions.size());
    for (int pid : sessions) kill(pid, SIGTERM);
    wait_until(SteadyClock::now() + 5s, report.cut);
  }
  if (!sessions.empty()) {
    report.killed = static_cast<int>(sessions.size());
    for (int pid : sessions) kill(pid, SIGKILL);
    int gone = 0;
    wait_until(SteadyClock::now() + 5s, gone);
  }
  reap(hooks);  // the pre-auth processes, long gone by now
  for (const auto& p : preauth_) close(p.fd);
  preauth_.clear();
  return report;
}

void Listener::serve(const ConnectionHandler& handler, const std::atomic<bool>& stop, const Hooks& hooks,
                     const PreAuthLimits& limits) {
  auto last_report = std::chrono::steady_clock::now();
  std::vector<pollfd> fds;
  while (!stop.load()) {
    fds.assign(1, pollfd{fd_, POLLIN, 0});
    for (const auto& p : preauth_) fds.push_back(pollfd{p.fd, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), 500);
    // A pre-auth pipe that is readable or hung up: that process authenticated or ended.
    std::vector<int> released;
    for (std::size_t i = 1; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents != 0) released.push_back(fds[i].fd);
    }
    forget_preauth([&](const PreAuth& p) { return std::find(released.begin(), released.end(), p.fd) != released.end(); });
    reap(hooks);
    if (hooks.on_tick) hooks.on_tick();
    if (auto now = std::chrono::steady_clock::now(); now - last_report >= std::chrono::seconds(1)) {
      last_report = now;
      report_drops();
    }
    if (n <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int conn = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
        spdlog::error("accept failed: {}", std::strerror(errno));
      continue;
    }
    Peer peer = peer_of(ss);
    if (auto why = admit(peer.address, hooks, limits); !why.empty()) {
      close(conn);  // before any SSH work: not even our version banner
      note_drop(peer.address, why);
      continue;
    }
    spawn(conn, peer, handler);
  }
  for (const auto& p : preauth_) close(p.fd);
  preauth_.clear();
  report_drops();
}

}  // namespace bastion::gateway
