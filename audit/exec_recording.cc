#include "audit/exec_recording.h"

#include <unistd.h>

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

// RecordHeader: what precedes each record's data (kExecRecordHeaderSize bytes, see the header).
struct RecordHeader {
  std::uint8_t stream_no = 0;
  std::uint64_t micros = 0;
  std::uint32_t length = 0;
};

// get_record_header reads one; false (cursor partly advanced) if fewer bytes remain.
bool get_record_header(ByteCursor& cur, RecordHeader& h) {
  return cur.get_u8(h.stream_no) && cur.get_u64_be(h.micros) && cur.get_u32_be(h.length);
}

}  // namespace

// ---- ExecRecordingWriter ------------------------------------------------------------------------

Result<ExecRecordingWriter> ExecRecordingWriter::create(int fd, const MonotonicClock& clock,
                                                        std::uint64_t max_stored_bytes) {
  return create(plain_sink(fd), clock, max_stored_bytes);
}

Result<ExecRecordingWriter> ExecRecordingWriter::create(RecordingSinkPtr sink, const MonotonicClock& clock,
                                                        std::uint64_t max_stored_bytes) {
  ExecRecordingWriter w(std::move(sink), clock, max_stored_bytes);
  if (!w.sink_->append(kExecRecordingMagic)) return Error{errno_text("cannot write exec recording header")};
  w.file_bytes_ = kExecRecordingMagic.size();
  return w;
}

std::uint64_t ExecRecordingWriter::micros_now() const {
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(stopwatch_.elapsed()).count();
  return static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed, 0));
}

// room_for returns how many of the next n data bytes still fit under the cap.
std::size_t ExecRecordingWriter::room_for(std::size_t n) const {
  if (cap_ == 0) return n;
  const std::uint64_t left = cap_ > stored_all_ ? cap_ - stored_all_ : 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, left));
}

bool ExecRecordingWriter::write(Stream s, std::string_view bytes) {
  if (failed_ || finished_) return false;
  const std::uint8_t n = stream_number(s);
  const std::string_view kept = bytes.substr(0, room_for(bytes.size()));
  // Bytes beyond the cap are not in the file: their digest must be taken now, after the stored ones.
  if (deferred_ && kept.size() < bytes.size() && !hash_stored()) return !(failed_ = true);
  if (!deferred_) hashers_[n].update(bytes);
  counts_[n].total += bytes.size();
  if (!write_data(s, micros_now(), kept)) return false;
  counts_[n].stored += kept.size();
  stored_all_ += kept.size();
  return true;
}

bool ExecRecordingWriter::write_data(Stream s, std::uint64_t micros, std::string_view bytes) {
  constexpr std::size_t kMaxRecord = std::numeric_limits<std::uint32_t>::max();
  while (!bytes.empty()) {
    const std::string_view piece = bytes.substr(0, kMaxRecord);
    if (!write_record(stream_number(s), micros, piece)) return false;
    bytes.remove_prefix(piece.size());
  }
  return true;
}

bool ExecRecordingWriter::hash_stored() {
  std::uint64_t magic_left = kExecRecordingMagic.size();
  std::string header;           // of the record being read, while incomplete
  std::uint8_t stream_no = 0;   // of the record whose data is being read
  std::uint64_t data_left = 0;  // of that record
  const bool read = sink_->read_back(file_bytes_, [&](std::string_view chunk) {
    const auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(magic_left, chunk.size()));
    chunk.remove_prefix(skip);
    magic_left -= skip;
    while (!chunk.empty()) {
      if (data_left > 0) {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(data_left, chunk.size()));
        hashers_[stream_no].update(chunk.substr(0, take));
        chunk.remove_prefix(take);
        data_left -= take;
        continue;
      }
      const std::size_t take = std::min(kExecRecordHeaderSize - header.size(), chunk.size());
      header.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (header.size() < kExecRecordHeaderSize) continue;
      ByteCursor cur(header);
      RecordHeader h;
      get_record_header(cur, h);  // header holds exactly one
      // Only data records precede the trailer, written last.
      if (h.stream_no >= hashers_.size()) return false;
      stream_no = h.stream_no;
      data_left = h.length;
      header.clear();
    }
    return true;
  });
  if (!read) return false;
  if (magic_left > 0 || !header.empty() || data_left > 0) {
    errno = EIO;
    return false;
  }
  deferred_ = false;
  return true;
}

Result<ExecTrailer> ExecRecordingWriter::tally() const {
  if (!finished_ || failed_) return Error{"exec recording has no trailer (not finished, or a write failed)"};
  ExecTrailer t{cap_, counts_};
  for (std::size_t i = 0; i < t.streams.size() && !deferred_; ++i) {
    auto hex = hashers_[i].hex();
    if (!hex) return hex.error();
    t.streams[i].sha256 = std::move(hex.value());
  }
  return t;
}

bool ExecRecordingWriter::finish() {
  if (failed_ || finished_) return false;
  finished_ = true;
  // Under the cap every byte is in the file, and the file's digest covers it: no digests here
  // (see the format in the header), and nothing to read back.
  std::string body;
  put_be(body, cap_, 8);
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    auto digest = deferred_ ? Result<std::string>(std::string(32, '\0')) : hashers_[i].raw();
    if (!digest) return !(failed_ = true);
    put_be(body, counts_[i].total, 8);
    put_be(body, counts_[i].stored, 8);
    body.append(*digest);
  }
  if (!write_record(kExecTrailerStream, micros_now(), body)) return false;
  if (!sink_->finish()) failed_ = true;
  return !failed_;
}

bool ExecRecordingWriter::write_record(std::uint8_t stream_no, std::uint64_t micros, std::string_view bytes) {
  // Header and data go out in a single writev(2), so a record is either wholly in the kernel or
  // the writer has failed; the data is not copied behind its header first.
  std::string header;
  header.reserve(kExecRecordHeaderSize);
  header.push_back(static_cast<char>(stream_no));
  put_be(header, micros, 8);
  put_be(header, bytes.size(), 4);
  if (!sink_->append(header, bytes)) failed_ = true;
  file_bytes_ += header.size() + bytes.size();
  return !failed_;
}

const ExecStreamTally& ExecTrailer::of(Stream s) const { return streams[stream_number(s)]; }

bool ExecTrailer::truncated() const {
  return std::any_of(streams.begin(), streams.end(), [](const ExecStreamTally& t) { return t.total != t.stored; });
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

// parse_trailer reads a trailer record's data and checks it against the records before it.
Result<ExecTrailer> parse_trailer(std::string_view data, const ExecRecording& rec) {
  if (data.size() != kExecTrailerSize) {
    return Error{"exec recording trailer has " + std::to_string(data.size()) + " bytes, not " +
                 std::to_string(kExecTrailerSize)};
  }
  ByteCursor cur(data);
  ExecTrailer t;
  cur.get_u64_be(t.max_stored_bytes);  // the size check above guarantees every field is there
  for (std::size_t i = 0; i < t.streams.size(); ++i) {
    ExecStreamTally& s = t.streams[i];
    std::string_view digest;
    cur.get_u64_be(s.total);
    cur.get_u64_be(s.stored);
    cur.get_bytes(32, digest);
    // 32 zero bytes: "not stated" (the cap was not reached; every byte is stored). No SHA-256
    // output is all zeros in practice, so the two cannot be confused.
    if (digest.find_first_not_of('\0') != std::string_view::npos) s.sha256 = hex_of(digest);
    const std::size_t held = bytes_of(rec, *stream_of(static_cast<std::uint8_t>(i))).size();
    if (s.stored != held || s.total < s.stored) {
      return Error{"exec recording trailer disagrees with the file: stream " + std::to_string(i) + " says " +
                   std::to_string(s.stored) + " of " + std::to_string(s.total) + " bytes stored, the file holds " +
                   std::to_string(held)};
    }
  }
  return t;
}

// ParseState: the recording so far and what the next record must respect.
struct ParseState {
  ExecRecording rec;
  std::size_t record_no = 0;  // of the record being read, from 1
  std::uint64_t last_micros = 0;
};

// parse_record reads one record into st.rec: an error for an altered file, truncation set (and the
// cursor left as is) for a file that ends inside the record.
Status parse_record(ByteCursor& cur, ParseState& st) {
  const std::string where = "exec recording record " + std::to_string(++st.record_no);
  const std::size_t start = cur.offset();
  RecordHeader h;
  std::string_view data;
  if (!get_record_header(cur, h)) {
    st.rec.truncation = truncation_text(st.record_no, start, "incomplete record header");
    return ok_status();
  }
  if (st.rec.trailer) return Error{where + " follows the trailer"};
  const std::optional<Stream> stream = stream_of(h.stream_no);
  if (!stream && h.stream_no != kExecTrailerStream)
    return Error{where + ": unknown stream " + std::to_string(h.stream_no)};
  if (h.micros < st.last_micros) return Error{where + ": time goes backwards"};
  if (!cur.get_bytes(h.length, data)) {
    const std::string why = "data shorter than its length " + std::to_string(h.length);
    st.rec.truncation = truncation_text(st.record_no, start, why);
    return ok_status();
  }
  st.last_micros = h.micros;
  if (!stream) {
    auto trailer = parse_trailer(data, st.rec);
    if (!trailer) return trailer.error();
    st.rec.trailer = std::move(trailer.value());
    return ok_status();
  }
  std::string& target = bytes_of(st.rec, *stream);
  st.rec.chunks.push_back({*stream, h.micros, target.size(), data.size()});
  target.append(data);
  return ok_status();
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
  ParseState st;
  while (!cur.empty() && !st.rec.truncation) {
    auto parsed = parse_record(cur, st);
    if (!parsed) return parsed.error();
  }
  return std::move(st.rec);
}

}  // namespace bastion::audit
