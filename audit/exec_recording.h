#pragma once
// Exec recordings: the byte-exact record of a non-pty channel (exec, scp, rsync), where every byte
// matters and a terminal rendering (asciicast) would lose them.
//
// File format, all integers big-endian:
//
//   magic   "BSTNREC1\n"                      9 bytes
//   record  u8  stream   0 = stdin (operator→server), 1 = stdout, 2 = stderr (server→operator)
//           u64 time     microseconds since the recording started (monotonic, non-decreasing)
//           u32 length   number of data bytes that follow
//           length bytes data
//   record  …
//   trailer u8  3                              written once, by close(), as the very last record
//           u64 time
//           u32 length   152
//           u64 max_stored_bytes               the cap in force; 0 = no cap
//           3 × (stdin, stdout, stderr):
//               u64 total    bytes of that stream that passed through the channel
//               u64 stored   bytes of that stream held in the data records above
//               32 bytes     SHA-256 of all `total` bytes (stored or not) if the cap was reached,
//                            32 zero bytes ("not stated") if it was not
//
// Only the first max_stored_bytes data bytes of a recording (all streams together) are written
// into records; beyond the cap bytes are still counted and hashed, and the trailer says so.
//
// One SHA-256 pass per recorded byte (issue 21). While the cap is not reached, every byte of every
// stream is in the records above, and the file's own SHA-256 — computed by the process that created
// the file and stated in the chained closing event — covers them, trailer included: per-stream
// digests of the same bytes would be a second pass over them that adds no evidence (they sit inside
// the very file that digest seals), so the trailer states none. When the cap is first reached the
// writer reads the records written so far back from the file, hashes them per stream, and from then
// on hashes as it goes, so that the trailer's digests cover the bytes that are not stored. A sealed
// recording is read back the same way, unsealed with its own key (RecordingSink::read_back), so
// that it too costs no hash in the data path under the cap.
// A file without a trailer is either from before trailers existed or was cut short (a crash): it
// is still complete at every record boundary, and the reader returns everything before the cut.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/monotonic.h"
#include "audit/recorder.h"
#include "audit/recording_sink.h"
#include "audit/sha256.h"
#include "authz/result.h"

namespace bastion::audit {

inline constexpr std::string_view kExecRecordingMagic = "BSTNREC1\n";
// kExecRecordHeaderSize: stream (1) + time (8) + length (4).
inline constexpr std::size_t kExecRecordHeaderSize = 13;
// kExecTrailerStream is the stream number of the trailer record; kExecTrailerSize its data length.
inline constexpr std::uint8_t kExecTrailerStream = 3;
inline constexpr std::size_t kExecTrailerSize = 8 + 3 * (8 + 8 + 32);

// ExecStreamTally: what happened to one stream of a recording.
struct ExecStreamTally {
  std::uint64_t total = 0;   // bytes that passed through the channel
  std::uint64_t stored = 0;  // bytes written into the recording
  // lowercase hex SHA-256 of all `total` bytes once the recording's cap was reached; empty when
  // it was not (every byte is then stored, and the file's digest covers it).
  std::string sha256;
};

// ExecTrailer: the trailer record's content.
struct ExecTrailer {
  std::uint64_t max_stored_bytes = 0;        // 0 = no cap
  std::array<ExecStreamTally, 3> streams{};  // stdin, stdout, stderr
  const ExecStreamTally& of(Stream s) const;
  bool truncated() const;  // whether any stream has bytes that were not stored
};

// ExecRecordingWriter appends records to a file descriptor it does not own (the caller opens a new,
// empty file O_RDWR | O_APPEND and closes it; the writer reads its own records back with pread(2)
// for the digests, through its sink). Each record is one write(2). After a failed write it refuses all further
// writes, since the file may end inside a record.
class ExecRecordingWriter {
 public:
  // create writes the magic and starts the stopwatch on `clock`, which must outlive the writer.
  // At most max_stored_bytes data bytes (all streams together) go into records; 0 = no cap.
  static Result<ExecRecordingWriter> create(int fd, const MonotonicClock& clock, std::uint64_t max_stored_bytes = 0);
  // create on a sink (audit/recording_sink.h), plain or sealed.
  static Result<ExecRecordingWriter> create(RecordingSinkPtr sink, const MonotonicClock& clock,
                                            std::uint64_t max_stored_bytes = 0);

  // write counts and hashes `bytes` of stream s and appends what fits under the cap as one record
  // (several if it exceeds 4 GiB); an empty write records nothing. Returns false if the data could
  // not be written, or after finish().
  bool write(Stream s, std::string_view bytes);

  // finish appends the trailer; later writes are refused. Returns false if it could not be written.
  bool finish();

  // tally returns what the trailer says, once finish() has written it (an error before, and if
  // OpenSSL fails); the digests are empty unless the cap was reached.
  Result<ExecTrailer> tally() const;

  bool failed() const { return failed_; }

 private:
  ExecRecordingWriter(RecordingSinkPtr sink, const MonotonicClock& clock, std::uint64_t cap)
      : sink_(std::move(sink)), stopwatch_(clock), cap_(cap) {}
  std::uint64_t micros_now() const;
  std::size_t room_for(std::size_t n) const;
  bool write_record(std::uint8_t stream_no, std::uint64_t micros, std::string_view bytes);
  bool write_data(Stream s, std::uint64_t micros, std::string_view bytes);
  // hash_stored reads the records written so far back from the file (unsealed if sealed) and hashes
  // their data; from then on write() hashes as it goes. Called only when the cap is first reached.
  // False (errno set) if the file cannot be read back whole.
  bool hash_stored();

  RecordingSinkPtr sink_;
  Stopwatch stopwatch_;
  std::uint64_t cap_;
  std::uint64_t stored_all_ = 0;
  std::array<ExecStreamTally, 3> counts_{};  // sha256 left empty; hashers_ hold the digests
  std::array<Sha256, 3> hashers_;
  std::uint64_t file_bytes_ = 0;  // written so far, magic included
  bool deferred_ = true;          // stored bytes not hashed (the cap was not reached; see hash_stored)
  bool failed_ = false;
  bool finished_ = false;
};

// ExecChunk locates one record's data inside its reassembled stream.
struct ExecChunk {
  Stream stream = Stream::Output;
  std::uint64_t micros = 0;
  std::size_t offset = 0;  // into ExecRecording::bytes(stream)
  std::size_t length = 0;
};

struct ExecRecording {
  std::string stdin_bytes;
  std::string stdout_bytes;
  std::string stderr_bytes;
  std::vector<ExecChunk> chunks;  // one per complete record, in file order
  // truncation is set when the file ends inside a record (a crash while writing it): it says which
  // record was cut and where. Everything before that record is in the fields above.
  std::optional<std::string> truncation;
  // trailer is the trailer record, if the recording was closed by a version that writes one.
  std::optional<ExecTrailer> trailer;

  bool complete() const { return !truncation.has_value(); }
  std::size_t complete_records() const { return chunks.size(); }
  const std::string& bytes(Stream s) const;
};

// parse_exec_recording reads an exec recording through a bounds-checked cursor. A wrong magic, an
// unknown stream number, a time going backwards, or a trailer that is malformed, not last, or
// disagrees with the stored bytes is an error (the file is not one of ours or was altered); a file
// cut short inside a record is not: it returns the complete prefix with `truncation` set.
Result<ExecRecording> parse_exec_recording(std::string_view file);

}  // namespace bastion::audit
