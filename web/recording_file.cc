#include "web/recording_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

#include "audit/data_keys.h"
#include "audit/exec_recording.h"
#include "audit/fd_io.h"

namespace bastion::web {
namespace {

constexpr std::size_t kPiece = 64 * 1024;

std::uint64_t big_endian(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// read_exactly fills buf with n bytes at offset; false on a short read or an error.
bool read_exactly(int fd, void* buf, std::size_t n, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, static_cast<char*>(buf) + got, n - got, static_cast<off_t>(offset + got));
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

Result<audit::UniqueFd> open_recording_plain(const std::string& path, const audit::KeyLookup& lookup) {
  audit::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error{"cannot be read (purged or moved)"};
  char head[8] = {};
  if (::pread(fd.get(), head, sizeof head, 0) != static_cast<ssize_t>(sizeof head) ||
      !audit::is_sealed(std::string_view(head, sizeof head)))
    return fd;
  if (!lookup) return Error{path + " is encrypted, and no key is at hand to open it"};
  // Decrypted one chunk at a time into a memory-only file (never a file on disk): the readers below
  // walk it by offset, and this process holds at most one chunk of it in its own memory.
  audit::UniqueFd memory(::memfd_create("bastion-recording", MFD_CLOEXEC));
  if (!memory) return Error{audit::errno_text("cannot hold the decrypted recording in memory")};
  std::uint64_t offset = 0;
  const audit::SealedSource source = [&fd, &offset](std::size_t n, std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + n);
    ssize_t got;
    do {
      got = ::pread(fd.get(), out.data() + at, n, static_cast<off_t>(offset));
    } while (got < 0 && errno == EINTR);
    out.resize(at + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    if (got > 0) offset += static_cast<std::uint64_t>(got);
    return got >= 0;
  };
  auto report = audit::unseal_stream(source, lookup,
                                     [&memory](std::string_view plain) { return audit::write_all(memory.get(), plain); });
  if (!report) return report.error();
  if (report->state == audit::SealedState::Altered)
    return Error{"the encrypted recording " + path + " was altered: " + report->detail};
  return memory;
}

bool for_each_line(int fd, std::size_t max_line, const std::function<void(std::string_view)>& line) {
  std::array<char, kPiece> buf{};
  std::string current;
  bool skipping = false;
  std::uint64_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) return false;
    if (n == 0) break;
    offset += static_cast<std::uint64_t>(n);
    std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const std::string_view part = chunk.substr(0, nl);
      if (!skipping && current.size() + part.size() <= max_line) {
        current.append(part);
      } else {
        skipping = true;
        current.clear();
      }
      if (nl == std::string_view::npos) break;
      if (!skipping) line(current);
      current.clear();
      skipping = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  if (!skipping && !current.empty()) line(current);  // a last line without '\n'
  return true;
}

ExecWalk for_each_exec_piece(int fd, std::uint64_t size, audit::Stream s, const ExecPieceFn& piece) {
  ExecWalk walk;
  const std::size_t magic = audit::kExecRecordingMagic.size();
  std::array<char, 16> head{};
  if (size < magic || !read_exactly(fd, head.data(), magic, 0) ||
      std::string_view(head.data(), magic) != audit::kExecRecordingMagic) {
    walk.complete = false;
    return walk;
  }
  const auto wanted = static_cast<std::uint8_t>(s);
  std::array<char, kPiece> buf{};
  std::uint64_t offset = magic;
  while (offset < size) {
    std::array<unsigned char, audit::kExecRecordHeaderSize> h{};
    if (size - offset < h.size() || !read_exactly(fd, h.data(), h.size(), offset)) {
      walk.complete = false;
      return walk;
    }
    const std::uint8_t stream = h[0];
    const std::uint64_t length = big_endian(h.data() + 9, 4);
    offset += h.size();
    if (stream == audit::kExecTrailerStream) return walk;  // the trailer is the last record
    if (stream > 2 || size - offset < length) {
      walk.complete = false;
      return walk;
    }
    if (stream == wanted) {
      walk.bytes += length;
      for (std::uint64_t done = 0; done < length && !walk.stopped;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, buf.size()));
        if (!read_exactly(fd, buf.data(), n, offset + done)) {
          walk.complete = false;
          return walk;
        }
        walk.stopped = !piece(std::string_view(buf.data(), n));
        done += n;
      }
    }
    offset += length;
  }
  return walk;
}

}  // namespace bastion::web
