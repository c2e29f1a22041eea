#pragma once
// RawConnection: a plain TCP socket from a chosen loopback address (any of 127/8, or ::1) to the
// bastion, that speaks whatever bytes the test writes — or nothing: how the pre-auth, ban and flood
// tests play clients that are not SSH clients.
#include <chrono>
#include <string>

namespace bastion::e2e {

class RawConnection {
 public:
  // Connects (blocking) from `from` to `to`:port; both IPv4 or both IPv6 literals.
  RawConnection(const std::string& from, int port, const std::string& to = "127.0.0.1");
  ~RawConnection();
  RawConnection(RawConnection&& o) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection& operator=(RawConnection&&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  // greeting: what the bastion sent within `timeout`, up to its first newline — its "SSH-2.0-…"
  // banner; "" if it closed the connection without a byte; "(silent)" if nothing came and it is open.
  std::string greeting(std::chrono::milliseconds timeout);
  // send writes all of data; false if the peer is gone.
  bool send(const std::string& data);
  // closed_within: the bastion closed (EOF or reset) within timeout; everything it sent until then
  // is discarded.
  bool closed_within(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// is_ssh_banner: text starts with an SSH-2.0 version banner.
inline bool is_ssh_banner(const std::string& text) { return text.rfind("SSH-2.0-", 0) == 0; }

}  // namespace bastion::e2e
