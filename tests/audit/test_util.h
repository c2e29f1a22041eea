#pragma once
// Helpers shared by the audit tests: a private temporary directory, files opened the way the
// recorders open theirs, a way to make a descriptor's device "full" mid-recording, and running a
// command to compare with stock tools (sha256sum, asciinema).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace bastion::audit::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bastion-audit-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// open_append creates path (0600) for appending, as the recorders' files are opened (read-write:
// exec recordings read their records back for the digests); -1 on error.
inline int open_append(const std::string& path) {
  return ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
}

// redirect_to_dev_full makes every later write through fd fail with ENOSPC, as if the disk filled
// up after the recording started: the descriptor number stays the same, its file becomes /dev/full.
inline bool redirect_to_dev_full(int fd) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) return false;
  const bool ok = ::dup2(full, fd) == fd;
  ::close(full);
  return ok;
}

// run_command returns the standard output of `sh -c command`, or nullopt if it exits non-zero.
inline std::optional<std::string> run_command(const std::string& command) {
  FILE* raw = ::popen(command.c_str(), "r");
  if (raw == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, raw)) > 0) out.append(buf, n);
  const int status = ::pclose(raw);
  if (status != 0) return std::nullopt;
  return out;
}

// have_command: whether `name` is on PATH.
inline bool have_command(const std::string& name) {
  return run_command("command -v " + name + " >/dev/null 2>&1").has_value();
}

}  // namespace bastion::audit::testing
