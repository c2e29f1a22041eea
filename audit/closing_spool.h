#pragma once
// Closing spool: a session's closing writes (audit/session_closing.h) kept on disk until the
// database has taken them, so that a database locked or failing when a session ends, followed by
// the end of its process, loses nothing. The recovery sweep (audit/session_recovery.h) replays it.
//
// File: <recordings dir>/<session id>/closing.spool, beside the session's recording, 0600,
// append-only; each record is written with one write(2) and fsynced (and the directory too, when
// the file is new), then the file is removed once the writes are committed.
//
// Format (version 1): one record per line, at most kMaxSpoolLine bytes with its '\n':
//
//   BSPOOL1 SP field SP field … '\n'      exactly kSpoolFields fields, in the order of
//                                          kSpoolFieldNames below
//
// Each field is percent-encoded: bytes 0x21..0x7E other than '%' stand for themselves, every other
// byte is "%XX" (two upper-case hex digits); an empty field is empty. Numbers are decimal with an
// optional leading '-'. A line that is cut (no '\n': the process died inside write), too long, or
// malformed in any way is ignored; the LAST well-formed record wins (a record is rewritten only
// when what it holds changed). The file is read back as untrusted bytes, through ByteCursor.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "audit/session_closing.h"
#include "authz/result.h"

namespace bastion::audit {

inline constexpr std::string_view kSpoolMagic = "BSPOOL1";
inline constexpr std::size_t kMaxSpoolLine = 16 * 1024;
inline constexpr std::size_t kMaxSpoolFile = 1024 * 1024;  // larger files are read up to this

inline constexpr std::array<std::string_view, 22> kSpoolFieldNames{
    "session_id",  "channel",         "started_at",      "ended_at",     "exit_status",   "status",
    "reason",      "recording_path",  "recording_kind",  "sha256",       "bytes_in",      "bytes_out",
    "truncated",   "bytes_total_in",  "bytes_total_out", "stdin_sha256", "stdout_sha256", "stderr_sha256",
    "recording_error", "actor",       "source",          "server"};
inline constexpr std::size_t kSpoolFields = kSpoolFieldNames.size();

// spool_path returns <recordings_dir>/<session_id>/closing.spool.
std::string spool_path(const std::string& recordings_dir, std::int64_t session_id);

// encode_spool_record returns w as one line of the format above, '\n' included.
std::string encode_spool_record(const ClosingWrites& w);

// parse_spool_record parses one line (without its '\n'); nullopt if it is not a well-formed record.
std::optional<ClosingWrites> parse_spool_record(std::string_view line);

// last_spool_record returns the last well-formed, complete record of a spool file's content.
std::optional<ClosingWrites> last_spool_record(std::string_view content);

// append_spool appends w to the spool at path (created 0600 if absent) and fsyncs it (and its
// directory if the file is new). An error means the record may not be on disk.
Status append_spool(const std::string& path, const ClosingWrites& w);

// read_spool returns the last record of the spool at path, nullopt if there is no such file or it
// holds no complete record; an error if it exists but cannot be read.
Result<std::optional<ClosingWrites>> read_spool(const std::string& path);

}  // namespace bastion::audit
