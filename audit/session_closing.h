#pragma once
// Closing writes: what ends one session row — its recording row, the row's end, and the chained
// event that states both (session.end, or session.recovered when the recovery sweep writes them).
// They are written in ONE transaction, so the database never holds a closed row whose end is not
// in the chain, nor the reverse; and writing them again after they committed changes nothing, so
// whoever holds them (the session process, its spool, the sweep) may retry until they succeed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/event_sinks.h"
#include "audit/recorder.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

struct ClosingWrites {
  std::int64_t session_id = 0;
  int channel = 0;
  Seconds started_at{};
  Seconds ended_at{};
  std::optional<int> exit_status;
  std::string status;  // "closed" | "aborted" | "refused"
  std::string reason;
  std::optional<RecordingSummary> recording;
  std::string recording_error;  // why there is no recording summary, if the recorder failed
  // Of the closing event: the operator, the connection's source and the server.
  std::string actor, source, server;
};

// closing_details returns the details of the closing event:
//   {"status", "reason", "ended_at" (unix seconds), "exit_status"?, "recording"?: {"path", "sha256",
//    "kind", "bytes_in", "bytes_out"}, "recording_error"?}
// The chained recording digest is what `audit verify` checks the recording file and row against.
nlohmann::json closing_details(const ClosingWrites& w);

enum class ClosingOutcome { Written, AlreadyClosed };

// apply_closing writes `w` in one transaction: the recording row (if any), the row's end, and a
// chained event of `kind` at `now` whose details are closing_details(w) merged with `extra`; the
// event then goes to the sinks. A row already ended is left alone (AlreadyClosed): the writes
// committed before. An error (the database locked beyond its busy timeout, or failing) means
// nothing was written; the caller keeps `w` and tries again.
Result<ClosingOutcome> apply_closing(const db::DatabasePtr& db, const ClosingWrites& w, const EventSinks& sinks,
                                     Seconds now, std::string_view kind = "session.end",
                                     const nlohmann::json& extra = nlohmann::json::object());

}  // namespace bastion::audit
