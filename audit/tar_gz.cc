#include "audit/tar_gz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cstring>

#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::uint64_t kMaxUstarSize = 077777777777ULL;  // 11 octal digits

// put_octal writes v as zero-padded octal digits in field[0, width-1), then NUL; callers check
// that v fits.
void put_octal(char* field, std::size_t width, std::uint64_t v) {
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
}

}  // namespace

struct TarGzWriter::Deflater {
  z_stream s{};
  bool ready = false;
  ~Deflater() {
    if (ready) deflateEnd(&s);
  }
};

TarGzWriter::TarGzWriter(UniqueFd fd, std::string path)
    : fd_(std::move(fd)), path_(std::move(path)), z_(std::make_unique<Deflater>()) {}
TarGzWriter::TarGzWriter(TarGzWriter&&) noexcept = default;
TarGzWriter& TarGzWriter::operator=(TarGzWriter&&) noexcept = default;
TarGzWriter::~TarGzWriter() = default;

Result<TarGzWriter> TarGzWriter::create(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error{errno_text("cannot create " + path)};
  return over(std::move(fd), path);
}

Result<TarGzWriter> TarGzWriter::over(UniqueFd fd, const std::string& name) {
  TarGzWriter w(std::move(fd), name);
  // windowBits 15 + 16: a gzip wrapper rather than raw zlib.
  if (deflateInit2(&w.z_->s, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error{"cannot start gzip compression for " + name};
  }
  w.z_->ready = true;
  return w;
}

Status TarGzWriter::write(std::string_view bytes, bool last) {
  z_stream& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = static_cast<uInt>(bytes.size());
  std::array<char, 1 << 16> out;
  int rc = Z_OK;
  do {
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    rc = deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) return Error{"gzip compression failed for " + path_};
    const std::size_t n = out.size() - s.avail_out;
    if (!write_all(fd_.get(), std::string_view(out.data(), n))) return Error{errno_text("cannot write " + path_)};
  } while (s.avail_out == 0 || (last && rc != Z_STREAM_END));
  return ok_status();
}

Status TarGzWriter::header(const std::string& name, std::uint64_t size, Seconds mtime) {
  if (name.empty() || name.size() > 100 || name.front() == '/' || name.find("..") != std::string::npos) {
    return Error{"cannot store '" + name + "' in the archive: names are relative and at most 100 characters"};
  }
  if (size > kMaxUstarSize) return Error{"cannot store '" + name + "' in the archive: larger than 8 GiB"};
  std::array<char, kBlock> h{};
  std::memcpy(h.data(), name.data(), name.size());
  put_octal(&h[100], 8, 0600);
  put_octal(&h[108], 8, 0);
  put_octal(&h[116], 8, 0);
  put_octal(&h[124], 12, size);
  put_octal(&h[136], 12, static_cast<std::uint64_t>(std::max<long long>(0, to_unix(mtime))));
  h[156] = '0';
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  put_octal(&h[148], 7, sum);  // six digits and NUL; the space after them is left from the memset
  return write(std::string_view(h.data(), h.size()));
}

Status TarGzWriter::pad(std::uint64_t size) {
  static const std::array<char, kBlock> zeros{};
  const std::size_t rest = static_cast<std::size_t>(size % kBlock);
  if (rest == 0) return ok_status();
  return write(std::string_view(zeros.data(), kBlock - rest));
}

Status TarGzWriter::add_bytes(const std::string& name, std::string_view contents, Seconds mtime) {
  if (auto st = header(name, contents.size(), mtime); !st) return st;
  if (auto st = write(contents); !st) return st;
  return pad(contents.size());
}

Status TarGzWriter::add_file(const std::string& name, const std::string& path, Seconds mtime) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return Error{errno_text("cannot open " + path)};
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (auto s = header(name, size, mtime); !s) return s;
  std::array<char, 1 << 16> buf;
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(in.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{n == 0 ? path + " shrank while it was being archived" : errno_text("cannot read " + path)};
    if (auto s = write(std::string_view(buf.data(), static_cast<std::size_t>(n))); !s) return s;
    left -= static_cast<std::uint64_t>(n);
  }
  return pad(size);
}

Status TarGzWriter::finish() {
  static const std::array<char, 2 * kBlock> end{};
  if (auto st = write(std::string_view(end.data(), end.size()), true); !st) return st;
  if (::fsync(fd_.get()) != 0) return Error{errno_text("cannot fsync " + path_)};
  if (fd_.close() != 0) return Error{errno_text("cannot close " + path_)};
  return ok_status();
}

}  // namespace bastion::audit
