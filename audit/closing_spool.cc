#include "audit/closing_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <limits>
#include <vector>

#include "audit/byte_cursor.h"
#include "audit/fd_io.h"
#include "audit/unique_fd.h"

namespace bastion::audit {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void put(std::string& line, std::string_view field) {
  line += ' ';
  for (const char ch : field) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x21 && c <= 0x7E && c != '%') {
      line += ch;
    } else {
      line += '%';
      line += kHex[c >> 4];
      line += kHex[c & 0xF];
    }
  }
}

void put(std::string& line, std::int64_t n) { put(line, std::to_string(n)); }

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// get_field decodes the next field of a record (up to the next ' ' or the end of the line) into
// out, and consumes the ' ' after it; false on a malformed escape or a byte that must be escaped.
bool get_field(ByteCursor& c, std::string& out) {
  out.clear();
  std::uint8_t b = 0;
  while (c.get_u8(b)) {
    if (b == ' ') return true;
    if (b == '%') {
      std::uint8_t hi = 0, lo = 0;
      if (!c.get_u8(hi) || !c.get_u8(lo) || hex_value(hi) < 0 || hex_value(lo) < 0) return false;
      out += static_cast<char>(hex_value(hi) * 16 + hex_value(lo));
    } else if (b >= 0x21 && b <= 0x7E) {
      out += static_cast<char>(b);
    } else {
      return false;
    }
  }
  return true;  // the last field ends with the line
}

template <typename T>
bool to_number(const std::string& text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool to_u64(const std::string& text, std::uint64_t& out) {
  std::int64_t n = 0;
  if (!to_number(text, n) || n < 0) return false;
  out = static_cast<std::uint64_t>(n);
  return true;
}

std::int64_t as_i64(std::uint64_t v) {
  return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(v);
}

// Record: the fields of one line, by kSpoolFieldNames index.
using Fields = std::array<std::string, kSpoolFields>;

std::optional<ClosingWrites> from_fields(const Fields& f) {
  ClosingWrites w;
  std::int64_t started = 0, ended = 0;
  if (!to_number(f[0], w.session_id) || w.session_id <= 0) return std::nullopt;
  if (!to_number(f[1], w.channel) || w.channel < 0) return std::nullopt;
  if (!to_number(f[2], started) || !to_number(f[3], ended)) return std::nullopt;
  w.started_at = from_unix(started);
  w.ended_at = from_unix(ended);
  if (!f[4].empty()) {
    int exit = 0;
    if (!to_number(f[4], exit)) return std::nullopt;
    w.exit_status = exit;
  }
  if (f[5] != "closed" && f[5] != "aborted" && f[5] != "refused") return std::nullopt;
  w.status = f[5];
  w.reason = f[6];
  if (!f[7].empty()) {
    RecordingSummary r;
    r.path = f[7];
    r.kind = f[8];
    r.sha256 = f[9];
    if (!to_u64(f[10], r.bytes_in) || !to_u64(f[11], r.bytes_out)) return std::nullopt;
    if (f[12] != "0" && f[12] != "1") return std::nullopt;
    r.truncated = f[12] == "1";
    if (!to_u64(f[13], r.bytes_total_in) || !to_u64(f[14], r.bytes_total_out)) return std::nullopt;
    r.stream_sha256 = {f[15], f[16], f[17]};
    w.recording = std::move(r);
  }
  w.recording_error = f[18];
  w.actor = f[19];
  w.source = f[20];
  w.server = f[21];
  return w;
}

// fsync_dir makes a new directory entry durable.
void fsync_dir(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d) ::fsync(d.get());
}

}  // namespace

std::string spool_path(const std::string& recordings_dir, std::int64_t session_id) {
  return recordings_dir + "/" + std::to_string(session_id) + "/closing.spool";
}

std::string encode_spool_record(const ClosingWrites& w) {
  std::string line(kSpoolMagic);
  put(line, w.session_id);
  put(line, std::int64_t{w.channel});
  put(line, std::int64_t{to_unix(w.started_at)});
  put(line, std::int64_t{to_unix(w.ended_at)});
  put(line, w.exit_status ? std::to_string(*w.exit_status) : std::string());
  put(line, w.status);
  put(line, w.reason);
  const RecordingSummary none;
  const RecordingSummary& r = w.recording ? *w.recording : none;
  put(line, r.path);
  put(line, r.kind);
  put(line, r.sha256);
  put(line, as_i64(r.bytes_in));
  put(line, as_i64(r.bytes_out));
  put(line, std::int64_t{r.truncated ? 1 : 0});
  put(line, as_i64(r.bytes_total_in));
  put(line, as_i64(r.bytes_total_out));
  put(line, r.stream_sha256.in);
  put(line, r.stream_sha256.out);
  put(line, r.stream_sha256.err);
  put(line, w.recording_error);
  put(line, w.actor);
  put(line, w.source);
  put(line, w.server);
  line += '\n';
  return line;
}

std::optional<ClosingWrites> parse_spool_record(std::string_view line) {
  if (line.size() >= kMaxSpoolLine) return std::nullopt;
  // Spaces are never inside a field (they are escaped): one before each field, no more, no less.
  if (static_cast<std::size_t>(std::count(line.begin(), line.end(), ' ')) != kSpoolFields) return std::nullopt;
  ByteCursor c(line);
  if (!c.skip_expected(kSpoolMagic) || !c.skip_expected(" ")) return std::nullopt;
  Fields fields;
  for (std::size_t i = 0; i < kSpoolFields; ++i) {
    // An empty last field leaves the line ending in its separator, hence "i + 1 <".
    if (c.empty() && i + 1 < kSpoolFields) return std::nullopt;  // too few fields
    if (!get_field(c, fields[i])) return std::nullopt;
  }
  if (!c.empty()) return std::nullopt;  // too many fields
  return from_fields(fields);
}

std::optional<ClosingWrites> last_spool_record(std::string_view content) {
  std::optional<ClosingWrites> last;
  ByteCursor c(content);
  while (!c.empty()) {
    const std::string_view rest = c.rest();
    const auto end = rest.find('\n');
    if (end == std::string_view::npos) break;  // a cut last line: its write never completed
    std::string_view line;
    if (!c.get_bytes(end, line) || !c.skip_expected("\n")) break;
    if (auto w = parse_spool_record(line)) last = std::move(w);
  }
  return last;
}

Status append_spool(const std::string& path, const ClosingWrites& w) {
  const std::string line = encode_spool_record(w);
  if (line.size() > kMaxSpoolLine) return Error{"the closing record of session " + std::to_string(w.session_id) +
                                                " is too long to spool (" + std::to_string(line.size()) + " bytes)"};
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"cannot create " + dir.string() + ": " + ec.message()};
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error{errno_text("cannot open the closing spool " + path)};
  if (!write_all(fd.get(), line)) return Error{errno_text("cannot write the closing spool " + path)};
  if (::fsync(fd.get()) != 0) return Error{errno_text("cannot fsync the closing spool " + path)};
  if (!existed) fsync_dir(dir.string());
  return ok_status();
}

Result<std::optional<ClosingWrites>> read_spool(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::optional<ClosingWrites>{};
    return Error{errno_text("cannot open the closing spool " + path)};
  }
  std::string content;
  char buf[8192];
  while (content.size() < kMaxSpoolFile) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text("cannot read the closing spool " + path)};
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  return last_spool_record(content);
}

}  // namespace bastion::audit
