#pragma once
// RecordingSink: where a recording's bytes go as they are written — straight into the file, or
// sealed chunk by chunk under the recording's own key (audit/sealed_stream.h). The recording
// writers (audit/asciicast.h, audit/exec_recording.h) speak their format to one of these and never
// know which; what record() accepted is in the kernel when it returns either way (DESIGN.md rule 6).
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
  // readback_fd: a descriptor whose bytes are the plain bytes appended so far, for a writer that
  // reads its own output back (pread); -1 when the bytes on disk are sealed.
  virtual int readback_fd() const = 0;
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
