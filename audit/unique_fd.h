#pragma once
// UniqueFd: the one RAII owner of a POSIX file descriptor in audit/. Closing is the destructor's job
// unless the caller needs the close(2) result (recordings do: a failed close can mean lost data), in
// which case close() reports it.
#include <unistd.h>

#include <utility>

namespace bastion::audit {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // release gives up ownership and returns the descriptor (or -1).
  int release() { return std::exchange(fd_, -1); }

  // close closes the descriptor now and returns close(2)'s result (0 on success, -1 with errno set);
  // closing an empty UniqueFd returns 0.
  int close() {
    if (fd_ < 0) return 0;
    return ::close(release());
  }

 private:
  void reset() {
    if (fd_ >= 0) ::close(release());
  }
  int fd_ = -1;
};

}  // namespace bastion::audit
