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
//
// There is no trailer: a recording is complete at every record boundary, so a crash loses at most
// the record being written, and the reader still returns everything before it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/monotonic.h"
#include "audit/recorder.h"
#include "authz/result.h"

namespace bastion::audit {

inline constexpr std::string_view kExecRecordingMagic = "BSTNREC1\n";
// kExecRecordHeaderSize: stream (1) + time (8) + length (4).
inline constexpr std::size_t kExecRecordHeaderSize = 13;

// ExecRecordingWriter appends records to a file descriptor it does not own (the caller opens it
// O_APPEND and closes it). Each record is one write(2). After a failed write it refuses all further
// writes, since the file may end inside a record.
class ExecRecordingWriter {
 public:
  // create writes the magic and starts the stopwatch on `clock`, which must outlive the writer.
  static Result<ExecRecordingWriter> create(int fd, const MonotonicClock& clock);

  // write appends `bytes` of stream s as one record (several if it exceeds 4 GiB); an empty write
  // records nothing. Returns false if the data could not be written.
  bool write(Stream s, std::string_view bytes);

  bool failed() const { return failed_; }

 private:
  ExecRecordingWriter(int fd, const MonotonicClock& clock) : fd_(fd), stopwatch_(clock) {}
  bool write_record(Stream s, std::uint64_t micros, std::string_view bytes);

  int fd_;
  Stopwatch stopwatch_;
  bool failed_ = false;
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

  bool complete() const { return !truncation.has_value(); }
  std::size_t complete_records() const { return chunks.size(); }
  const std::string& bytes(Stream s) const;
};

// parse_exec_recording reads an exec recording through a bounds-checked cursor. A wrong magic, an
// unknown stream number or a time going backwards is an error (the file is not one of ours or was
// altered); a file cut short inside a record is not: it returns the complete prefix with
// `truncation` set.
Result<ExecRecording> parse_exec_recording(std::string_view file);

}  // namespace bastion::audit
