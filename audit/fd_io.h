#pragma once
// Small, careful wrappers over write(2)/read(2) for recordings: no stdio buffering anywhere, so what
// record() accepted is in the kernel when it returns (DESIGN.md rule 6).
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::audit {

// write_all writes every byte of `bytes` to fd, retrying on short writes and EINTR. Returns false
// on the first error (ENOSPC, EIO, EBADF, EFBIG …) with errno left as write(2) set it.
bool write_all(int fd, std::string_view bytes);

// write_all writes `head` then `body` as one run of bytes, in a single writev(2) when the kernel
// takes them whole (as it does for a regular file until the disk fills), without copying them
// together first; short writes and EINTR are retried as above.
bool write_all(int fd, std::string_view head, std::string_view body);

// read_file reads a whole regular file (refusing to follow a final symlink); for tests and tools
// that replay recordings.
Result<std::string> read_file(const std::string& path);

// errno_text: "<what>: <strerror(errno)>", for error messages.
std::string errno_text(std::string_view what);

}  // namespace bastion::audit
