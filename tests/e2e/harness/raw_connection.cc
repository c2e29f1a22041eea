#include "tests/e2e/harness/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tests/e2e/harness/util.h"

namespace bastion::e2e {
namespace {

// endpoint fills ss with address:port; false if address is no IPv4/IPv6 literal.
bool endpoint(const std::string& address, int port, sockaddr_storage& ss, socklen_t& len) {
  ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

}  // namespace

RawConnection::RawConnection(const std::string& from, int port, const std::string& to) {
  sockaddr_storage src{}, dst{};
  socklen_t src_len = 0, dst_len = 0;
  if (!endpoint(from, 0, src, src_len) || !endpoint(to, port, dst, dst_len) || src.ss_family != dst.ss_family)
    throw HarnessError("RawConnection: bad addresses " + from + " -> " + to);
  fd_ = ::socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  connected_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&src), src_len) == 0 &&
               ::connect(fd_, reinterpret_cast<sockaddr*>(&dst), dst_len) == 0;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

RawConnection::RawConnection(RawConnection&& o) noexcept : fd_(o.fd_), connected_(o.connected_) { o.fd_ = -1; }

std::string RawConnection::greeting(std::chrono::milliseconds timeout) {
  std::string got;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && got.find('\n') == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    char buf[256];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return got;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got.empty() ? "(silent)" : got;
}

bool RawConnection::send(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::closed_within(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
  return false;
}

}  // namespace bastion::e2e
