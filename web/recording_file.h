#pragma once
// Reading recording files for the portal without holding them in memory: a recording may be
// hundreds of megabytes, the portal's budget is a few buffers (issue 18: 64 MiB RSS while a
// 200 MB recording is served). Plain or sealed, a recording is read in order, one piece at a time
// (audit/recording_reader.h): a sealed one is decrypted one authenticated chunk at a time, and
// nothing else of it is ever held, in this process or in the kernel.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <httplib.h>

#include "audit/recorder.h"
#include "audit/recording_reader.h"
#include "authz/result.h"

namespace bastion::web {

// open_recording opens the recording file at path to read it in its own format, decrypting it on
// the way with a key found by `lookup` (audit/data_keys.h) if it is sealed. Error: the file cannot
// be opened ("cannot be read (purged or moved)"), its key is unknown or destroyed (saying when and
// by whom), or its preamble is malformed.
Result<audit::RecordingReader> open_recording(const std::string& path, const audit::KeyLookup& lookup);

// for_each_line reads the recording to its end and calls `line` with each line (without its
// '\n'). A line longer than max_line is skipped whole (never buffered past max_line). An Error when
// the file cannot be read or a sealed one was altered (the reader's message): lines before the
// alteration were authentic, and the caller shows none of them.
Status for_each_line(audit::RecordingReader& recording, std::size_t max_line,
                     const std::function<void(std::string_view)>& line);

// ExecPieceFn takes a piece of one stream's data in an exec recording (audit/exec_recording.h) and
// returns false when it wants no more of that stream.
using ExecPieceFn = std::function<bool(audit::Stream s, std::string_view data)>;

// ExecWalk: what walking an exec recording found, per stream (indexed by audit::Stream).
struct ExecWalk {
  std::array<std::uint64_t, 3> bytes{};  // data bytes of each stream in the file
  std::array<bool, 3> stopped{};         // the callback asked for no more of it (bytes still counts it all)
  bool complete = true;  // false: the file ends inside a record, or is not an exec recording
};

// for_each_exec_piece reads the exec recording to its end, in order, and calls `piece` with the data
// of each record, in pieces of at most 64 KiB, until it returns false for that stream; after that
// the stream's bytes are only counted (a sealed file is still decrypted: its chunks must
// authenticate to the end, but nothing of them is kept). The format is checked as far as walking
// needs: the magic, each record's header, stream numbers, the trailer as the last record; the
// digests are `audit verify`'s business (shown on the page). An Error as for_each_line's.
Result<ExecWalk> for_each_exec_piece(audit::RecordingReader& recording, const ExecPieceFn& piece);

// RecordingBody: a recording about to be sent as a response body, its first piece already read.
struct RecordingBody {
  struct Sending;
  std::shared_ptr<Sending> sending;
};

// start_body reads the recording's first piece, so that a file whose start does not authenticate
// (the wrong key, an altered start) is an Error before anything is sent: the caller answers with a
// page that says so.
Result<RecordingBody> start_body(audit::RecordingReader recording);

// send_recording makes the recording the body of `res`, sent chunked as it is read: one piece at a
// time, a sealed one decrypted chunk by chunk, nothing of it kept. An Error found after bytes were
// sent (an alteration, a failed read) ends the response without its last HTTP chunk, so the client
// sees a failed transfer, never a short body passed as whole; it is logged, naming `what`.
void send_recording(RecordingBody body, const std::string& content_type, const std::string& what,
                    httplib::Response& res);

}  // namespace bastion::web
