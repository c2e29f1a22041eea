#include "audit/fd_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "audit/unique_fd.h"

namespace bastion::audit {

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {  // write(2) never legitimately returns 0 for a non-empty buffer; don't spin on it
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool write_all(int fd, std::string_view head, std::string_view body) {
  while (!head.empty()) {
    std::array<iovec, 2> iov{iovec{const_cast<char*>(head.data()), head.size()},
                             iovec{const_cast<char*>(body.data()), body.size()}};
    ssize_t n = ::writev(fd, iov.data(), body.empty() ? 1 : 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    const auto from_head = std::min(head.size(), static_cast<std::size_t>(n));
    head.remove_prefix(from_head);
    body.remove_prefix(static_cast<std::size_t>(n) - from_head);
  }
  return write_all(fd, body);
}

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error{errno_text("cannot open " + path)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{errno_text("cannot stat " + path)};
  if (!S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text("cannot read " + path)};
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace bastion::audit
