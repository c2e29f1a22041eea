#pragma once
// Session recovery: closing the `live` rows whose session process is gone — killed, crashed, or
// ended while the database would not take its closing writes (it left them in its spool,
// audit/closing_spool.h). The rows are closed with their recordings' digests and one chained
// `session.recovered` event that says so, how late, and from what:
//   closing_details (audit/session_closing.h) +
//   {"recovered_from": "spool" | "recordings", "late_seconds": N, "pid": P, "why": TEXT}
// "spool": the process's own closing writes, as it would have written them.
// "recordings": nothing was spooled; the row ends "aborted" with reason `why`, at the last write of
// its recording file (or now, when there is none), and the digest is computed from that file.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/event_sinks.h"
#include "audit/session_store.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

struct RecoveredSession {
  std::int64_t session_id = 0;
  std::string from;  // "spool" or "recordings"
  long long late_seconds = 0;
};

struct RecoveryReport {
  std::vector<RecoveredSession> recovered;
  std::vector<std::string> problems;  // rows that could not be closed now, each with why (retried later)
};

// recover_sessions closes every live row for which gone(row) is true. `why` is the reason of rows
// closed from their recordings. It stops at the first row the database would not take (locked or
// failing: the rest would fare no better); the caller tries again later. Throws db::DbError if the
// rows cannot even be read.
RecoveryReport recover_sessions(const db::DatabasePtr& db, const std::string& recordings_dir, const EventSinks& sinks,
                                const Clock& clock, const std::function<bool(const SessionRow&)>& gone,
                                const std::string& why);

// recording_in_directory returns the summary of a session's recording found in
// <recordings_dir>/<session_id>/ (its lowest channel's "<n>-pty.cast" or "<n>-exec.rec"), with the
// SHA-256 of the file as it is now; byte counts are unknown (0). nullopt if there is none.
std::optional<std::pair<int, RecordingSummary>> recording_in_directory(const std::string& recordings_dir,
                                                                       std::int64_t session_id);

}  // namespace bastion::audit
