#include "gateway/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

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

void reap_children(const Listener::Hooks& hooks) {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (WIFSIGNALED(status)) spdlog::warn("session process {} killed by signal {}", pid, WTERMSIG(status));
    if (hooks.on_child_exit) hooks.on_child_exit(pid, status);
  }
}

}  // namespace

void Listener::serve(const ConnectionHandler& handler, const std::atomic<bool>& stop, const Hooks& hooks) {
  while (!stop.load()) {
    pollfd pfd{fd_, POLLIN, 0};
    int n = poll(&pfd, 1, 500);
    reap_children(hooks);
    if (hooks.on_tick) hooks.on_tick();
    if (n <= 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int conn = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
        spdlog::error("accept failed: {}", std::strerror(errno));
      continue;
    }
    Peer peer = peer_of(ss);
    pid_t pid = fork();
    if (pid < 0) {
      spdlog::error("fork failed for connection from {}: {}", peer.to_string(), std::strerror(errno));
      close(conn);
      continue;
    }
    if (pid == 0) {
      close(fd_);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      signal(SIGCHLD, SIG_DFL);
      _exit(handler(conn, peer));
    }
    close(conn);
  }
}

}  // namespace bastion::gateway
