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

struct RecordingSummary {
  std::string path;
  std::string kind;       // "asciicast" | "exec"
  std::string sha256;     // hex digest of the file as closed
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
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

// file_recorder_factory writes under `dir` (created 0700) using `clock` for timestamps.
RecorderFactoryPtr file_recorder_factory(std::string dir, const Clock& clock);

}  // namespace bastion::audit
