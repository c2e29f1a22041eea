#pragma once
// TarGzWriter: a gzip-compressed POSIX ustar archive, written as it goes (recordings are streamed
// from disk, never held whole in memory). ustar is a 512-byte header per member followed by the
// data padded to 512 bytes, and two zero blocks at the end; gzip comes from zlib.
#include <memory>
#include <string>
#include <string_view>

#include "audit/unique_fd.h"
#include "authz/clock.h"
#include "authz/result.h"

namespace bastion::audit {

class TarGzWriter {
 public:
  // create makes a new file at path (mode 0600, refusing to overwrite an existing one).
  static Result<TarGzWriter> create(const std::string& path);
  // over writes to an open descriptor the caller made (`name` is for messages); it takes it.
  static Result<TarGzWriter> over(UniqueFd fd, const std::string& name);
  TarGzWriter(TarGzWriter&&) noexcept;
  TarGzWriter& operator=(TarGzWriter&&) noexcept;
  ~TarGzWriter();

  // add_bytes adds a regular file `name` (at most 100 characters, relative) with `contents`.
  Status add_bytes(const std::string& name, std::string_view contents, Seconds mtime);
  // add_file adds the regular file at `path` as `name`, streaming it.
  Status add_file(const std::string& name, const std::string& path, Seconds mtime);
  // finish writes the end-of-archive blocks and the gzip trailer, fsyncs and closes the file.
  Status finish();

 private:
  struct Deflater;
  TarGzWriter(UniqueFd fd, std::string path);
  Status header(const std::string& name, std::uint64_t size, Seconds mtime);
  Status write(std::string_view bytes, bool last = false);
  Status pad(std::uint64_t size);

  UniqueFd fd_;
  std::string path_;
  std::unique_ptr<Deflater> z_;
};

}  // namespace bastion::audit
