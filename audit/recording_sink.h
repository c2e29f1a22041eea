#pragma once
// RecordingSink: where a recording's bytes go as they are written — straight into the file, or
// sealed chunk by chunk under the recording's own key (audit/sealed_stream.h). The recording
// writers (audit/asciicast.h, audit/exec_recording.h) speak their format to one of these and never
// know which; what record() accepted is in the kernel when it returns either way (DESIGN.md rule 6).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "audit/sealed_stream.h"
#include "authz/result.h"

namespace bastion::audit {

class RecordingSink {
 public:
  virtual ~RecordingSink() = default;
  // append writes `head` then `body` as one unit: one write(2) of the plain bytes, or one sealed
  // chunk. Returns false on the first error, errno left as write(2) set it.
  virtual bool append(std::string_view head, std::string_view body = {}) = 0;
  // finish ends the stream (a sealed stream's FINAL chunk; nothing for a plain file). Returns false
  // if that could not be written.
  virtual bool finish() = 0;
  // read_back hands `take` the plain bytes appended so far, in order and in pieces, for a writer
  // that reads its own output back (an exec recording reaching its cap): straight from a plain
  // file, or unsealed and authenticated chunk by chunk from a sealed one, in bounded memory.
  // `plain_bytes` is how many the writer appended. Returns false, errno set (EIO when the file
  // does not hold exactly those bytes or a chunk fails authentication), if they cannot all be read.
  virtual bool read_back(std::uint64_t plain_bytes, const PlainChunkSink& take) = 0;
};
using RecordingSinkPtr = std::unique_ptr<RecordingSink>;

// SealingKey: what a recording is sealed with — its own stream key (derive_stream_key) and what the
// file names so that a reader holding the client's key can derive it again.
struct SealingKey {
  SecretKey stream_key;
  std::string key_id;
  std::string salt;
};

// plain_sink writes to fd, which it does not own.
RecordingSinkPtr plain_sink(int fd);

// sealed_sink writes the sealed preamble to fd (not owned) at once, then one chunk per append.
// Fails if the preamble cannot be written.
Result<RecordingSinkPtr> sealed_sink(int fd, const SealingKey& key);

}  // namespace bastion::audit
