#pragma once
// The file-backed recorders behind file_recorder_factory (audit/recorder.h), exposed one level down
// so that tests and tools can put a recording on a descriptor of their choosing (a file on a full
// device, a closed descriptor) without any test hook in the production path.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "audit/asciicast.h"
#include "audit/monotonic.h"
#include "audit/recorder.h"
#include "audit/recording_sink.h"
#include "audit/unique_fd.h"
#include "authz/clock.h"
#include "authz/result.h"

namespace bastion::audit {

// file_recorder_factory as in recorder.h, with the monotonic clock that times events injected.
// Both clocks must outlive the factory and every recorder it creates.
RecorderFactoryPtr file_recorder_factory(std::string dir, const Clock& clock, const MonotonicClock& elapsed,
                                         std::uint64_t max_stored_bytes = kDefaultMaxStoredBytes);

// create_recording_file makes <dir>/<session_id>/ (0700, no symlink followed) and creates
// <channel>-<suffix> there, exclusively, mode 0600; returns the descriptor and the path. The one
// place recording files are created: by the factory, and by the monitor that passes the descriptor
// to its network process (gateway/monitor.h).
Result<std::pair<UniqueFd, std::string>> create_recording_file(const std::string& dir, std::int64_t session_id,
                                                               int channel, std::string_view suffix);

// Sealing: who makes a closed recording durable and digests it. InProcess: close() fsyncs, re-opens
// the path and returns the SHA-256 in the summary. ByOwner: close() only finishes the format and
// closes the descriptor, and the summary's sha256 is empty — the process that created the file
// (the monitor, gateway/monitor.h) seals it, because the sandboxed network process that writes it
// may not open a path.
enum class Sealing { InProcess, ByOwner };

// pty_recorder_on writes an asciicast recording (header first) to fd, which the recorder then owns;
// sealed under `key` (audit/sealed_stream.h) unless it is null.
// `path` must name the same file: close() re-opens it to compute the digest and checks that it is
// the very inode it wrote. Fails if the header cannot be written.
Result<ChannelRecorderPtr> pty_recorder_on(UniqueFd fd, std::string path, const AsciicastHeader& header,
                                           const MonotonicClock& elapsed, Sealing sealing = Sealing::InProcess,
                                           const SealingKey* key = nullptr);

// exec_recorder_on: the same for a byte-exact exec recording (audit/exec_recording.h) storing at
// most max_stored_bytes of data (0 = no cap); close() writes its trailer.
Result<ChannelRecorderPtr> exec_recorder_on(UniqueFd fd, std::string path, const MonotonicClock& elapsed,
                                            std::uint64_t max_stored_bytes = kDefaultMaxStoredBytes,
                                            Sealing sealing = Sealing::InProcess, const SealingKey* key = nullptr);

}  // namespace bastion::audit
