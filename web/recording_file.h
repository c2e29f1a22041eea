#pragma once
// Reading recording files for the portal without holding them in memory: a recording may be
// hundreds of megabytes, the portal's budget is a few buffers (issue 18: 64 MiB RSS while a
// 200 MB recording is served).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "audit/recorder.h"
#include "audit/sealed_stream.h"
#include "audit/unique_fd.h"
#include "authz/result.h"

namespace bastion::web {

// open_recording_plain opens the recording file at path for reading in its own format: the file
// itself when it is not sealed; when it is, an anonymous memory file (memfd: RAM, never the disk)
// holding it decrypted with `lookup` (audit/data_keys.h). A sealed recording is then held whole in
// memory while it is served. Error: the file cannot be opened, its key is unknown or destroyed
// (saying when and by whom), or it was altered (saying where).
Result<audit::UniqueFd> open_recording_plain(const std::string& path, const audit::KeyLookup& lookup);

// for_each_line calls `line` with each line of the open file fd (without its '\n'), reading it in
// 64 KiB pieces from offset 0 with pread(2). A line longer than max_line is skipped whole (never
// buffered past max_line). Returns false if the file could not be read to its end.
bool for_each_line(int fd, std::size_t max_line, const std::function<void(std::string_view)>& line);

// ExecPiece: a piece of one stream's data in an exec recording (audit/exec_recording.h).
using ExecPieceFn = std::function<bool(std::string_view data)>;

// ExecWalk: what walking an exec recording for one stream found.
struct ExecWalk {
  std::uint64_t bytes = 0;   // data bytes of the stream in the file
  bool complete = true;      // false: the file ends inside a record, or is not an exec recording
  bool stopped = false;      // the callback asked for no more data (bytes still counts it all)
};

// for_each_exec_piece walks the records of the exec recording open as fd (size bytes) and calls
// `piece` with the data of each record of stream `s`, in pieces of at most 64 KiB, until it returns
// false; after that the walk only counts the stream's bytes (record headers, no data read). The format is checked as far as walking needs: the magic, each record's header against
// the file size, stream numbers; the digests are `audit verify`'s business (shown on the page).
ExecWalk for_each_exec_piece(int fd, std::uint64_t size, audit::Stream s, const ExecPieceFn& piece);

}  // namespace bastion::web
