#include "audit/exec_recording.h"

#include <algorithm>
#include <limits>

#include "audit/byte_cursor.h"
#include "audit/fd_io.h"

namespace bastion::audit {
namespace {

std::uint8_t stream_number(Stream s) {
  switch (s) {
    case Stream::Input:
      return 0;
    case Stream::Output:
      return 1;
    case Stream::Error:
      return 2;
  }
  return 1;  // unreachable: every enumerator is handled above
}

std::optional<Stream> stream_of(std::uint8_t n) {
  switch (n) {
    case 0:
      return Stream::Input;
    case 1:
      return Stream::Output;
    case 2:
      return Stream::Error;
    default:
      return std::nullopt;
  }
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

// ---- ExecRecordingWriter ------------------------------------------------------------------------

Result<ExecRecordingWriter> ExecRecordingWriter::create(int fd, const MonotonicClock& clock) {
  ExecRecordingWriter w(fd, clock);
  if (!write_all(fd, kExecRecordingMagic)) return Error{errno_text("cannot write exec recording header")};
  return w;
}

bool ExecRecordingWriter::write(Stream s, std::string_view bytes) {
  if (failed_) return false;
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stopwatch_.elapsed()).count();
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed, 0));
  constexpr std::size_t kMaxRecord = std::numeric_limits<std::uint32_t>::max();
  while (!bytes.empty()) {
    const std::string_view piece = bytes.substr(0, kMaxRecord);
    if (!write_record(s, micros, piece)) return false;
    bytes.remove_prefix(piece.size());
  }
  return true;
}

bool ExecRecordingWriter::write_record(Stream s, std::uint64_t micros, std::string_view bytes) {
  // Header and data go out in a single write(2), so a record is either wholly in the kernel or
  // the writer has failed.
  std::string record;
  record.reserve(kExecRecordHeaderSize + bytes.size());
  record.push_back(static_cast<char>(stream_number(s)));
  put_be(record, micros, 8);
  put_be(record, bytes.size(), 4);
  record.append(bytes);
  if (!write_all(fd_, record)) failed_ = true;
  return !failed_;
}

// ---- parse_exec_recording -----------------------------------------------------------------------

namespace {

// bytes_of serves both the const accessor and the parser, which appends to the same fields.
template <typename Recording>
auto& bytes_of(Recording& rec, Stream s) {
  switch (s) {
    case Stream::Input:
      return rec.stdin_bytes;
    case Stream::Output:
      return rec.stdout_bytes;
    case Stream::Error:
      return rec.stderr_bytes;
  }
  return rec.stdout_bytes;  // unreachable: every enumerator is handled above
}

}  // namespace

const std::string& ExecRecording::bytes(Stream s) const { return bytes_of(*this, s); }

namespace {

std::string truncation_text(std::size_t record_no, std::size_t offset, std::string_view what) {
  return "exec recording truncated in record " + std::to_string(record_no) + " at byte " + std::to_string(offset) +
         ": " + std::string(what) + " (" + std::to_string(record_no - 1) + " complete records kept)";
}

}  // namespace

Result<ExecRecording> parse_exec_recording(std::string_view file) {
  ByteCursor cur(file);
  if (!cur.skip_expected(kExecRecordingMagic)) {
    // A file cut inside the magic is still a valid (empty) prefix of a recording.
    if (kExecRecordingMagic.starts_with(file)) {
      ExecRecording empty;
      empty.truncation = "exec recording truncated inside its magic";
      return empty;
    }
    return Error{"not an exec recording (bad magic)"};
  }
  ExecRecording rec;
  std::uint64_t last_micros = 0;
  while (!cur.empty()) {
    const std::size_t record_no = rec.chunks.size() + 1;
    const std::size_t start = cur.offset();
    std::uint8_t stream_no = 0;
    std::uint64_t micros = 0;
    std::uint32_t length = 0;
    std::string_view data;
    if (!cur.get_u8(stream_no) || !cur.get_u64_be(micros) || !cur.get_u32_be(length)) {
      rec.truncation = truncation_text(record_no, start, "incomplete record header");
      break;
    }
    const std::optional<Stream> stream = stream_of(stream_no);
    if (!stream) return Error{"exec recording record " + std::to_string(record_no) + ": unknown stream " +
                              std::to_string(stream_no)};
    if (micros < last_micros) {
      return Error{"exec recording record " + std::to_string(record_no) + ": time goes backwards"};
    }
    if (!cur.get_bytes(length, data)) {
      rec.truncation = truncation_text(record_no, start, "data shorter than its length " + std::to_string(length));
      break;
    }
    std::string& target = bytes_of(rec, *stream);
    rec.chunks.push_back({*stream, micros, target.size(), data.size()});
    target.append(data);
    last_micros = micros;
  }
  return rec;
}

}  // namespace bastion::audit
