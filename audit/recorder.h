#pragma once
// Recorder: every byte the operator and the server exchange passes through one of these before it
// is forwarded (DESIGN.md rule 6). A false/err return means the evidence could not be written: the
// caller ends the session (rule 5, fail closed).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "authz/clock.h"
#include "authz/result.h"

namespace bastion::audit {

enum class Stream { Input, Output, Error };  // operator→server, server→operator stdout, stderr

// StreamDigests: lowercase hex SHA-256 of every byte of each stream that passed through the
// channel, stored in the recording or not (exec recordings; empty for asciicast).
struct StreamDigests {
  std::string in;   // stdin, operator→server
  std::string out;  // stdout
  std::string err;  // stderr
};

struct RecordingSummary {
  std::string path;
  std::string kind;       // "asciicast" | "exec"
  std::string sha256;     // hex digest of the file as closed
  std::uint64_t bytes_in = 0;   // bytes held in the recording: operator→server
  std::uint64_t bytes_out = 0;  // and server→operator (stdout and stderr)
  // An exec recording stores at most its factory's max_stored_bytes; beyond that bytes are only
  // counted and hashed. truncated says whether that happened; the totals count every byte.
  bool truncated = false;
  std::uint64_t bytes_total_in = 0;
  std::uint64_t bytes_total_out = 0;
  StreamDigests stream_sha256{};
};

class ChannelRecorder {
 public:
  virtual ~ChannelRecorder() = default;
  // record appends data of stream s; flushed to the kernel before it returns.
  virtual bool record(Stream s, std::string_view data) = 0;
  virtual bool resize(int cols, int rows) = 0;
  // close writes the trailer (if any), fsyncs, and returns the summary with the file's SHA-256.
  virtual Result<RecordingSummary> close() = 0;
};
using ChannelRecorderPtr = std::unique_ptr<ChannelRecorder>;

struct PtyInfo {
  std::string term = "xterm";
  int cols = 80;
  int rows = 24;
};

// RecorderFactory creates recordings under one directory: <dir>/<session_id>/<channel>-<kind>.
class RecorderFactory {
 public:
  virtual ~RecorderFactory() = default;
  // open_pty: an asciicast v2 recording (header, then "o", "i", "r" events).
  virtual Result<ChannelRecorderPtr> open_pty(std::int64_t session_id, int channel, const PtyInfo& pty,
                                              std::string_view command) = 0;
  // open_exec: a byte-exact recording of stdin, stdout and stderr with timing.
  virtual Result<ChannelRecorderPtr> open_exec(std::int64_t session_id, int channel, std::string_view command) = 0;
};
using RecorderFactoryPtr = std::unique_ptr<RecorderFactory>;

// kDefaultMaxStoredBytes: the default cap on the data bytes stored per exec recording (1 GiB).
inline constexpr std::uint64_t kDefaultMaxStoredBytes = std::uint64_t{1} << 30;

// file_recorder_factory writes under `dir` (created 0700) using `clock` for timestamps. Each exec
// recording stores at most max_stored_bytes of data (0 = no cap); see audit/exec_recording.h.
RecorderFactoryPtr file_recorder_factory(std::string dir, const Clock& clock,
                                         std::uint64_t max_stored_bytes = kDefaultMaxStoredBytes);

}  // namespace bastion::audit
