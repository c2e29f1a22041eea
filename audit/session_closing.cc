#include "audit/session_closing.h"

#include "audit/sqlite_event_log.h"
#include "audit/sqlite_session_store.h"

namespace bastion::audit {

nlohmann::json closing_details(const ClosingWrites& w) {
  nlohmann::json d = {{"status", w.status}, {"reason", w.reason}, {"ended_at", to_unix(w.ended_at)}};
  if (w.exit_status) d["exit_status"] = *w.exit_status;
  if (w.recording) {
    const RecordingSummary& r = *w.recording;
    d["recording"] = {{"path", r.path}, {"sha256", r.sha256}, {"kind", r.kind}, {"bytes_in", r.bytes_in},
                      {"bytes_out", r.bytes_out}};
  }
  if (!w.recording_error.empty()) d["recording_error"] = w.recording_error;
  return d;
}

Result<ClosingOutcome> apply_closing(const db::DatabasePtr& db, const ClosingWrites& w, const EventSinks& sinks,
                                     Seconds now, std::string_view kind, const nlohmann::json& extra) {
  const std::string which = "the closing writes of session " + std::to_string(w.session_id);
  StoredEvent stored;
  try {
    db::Database::Transaction tx(*db);
    SqliteSessionStore store(db);
    const auto row = store.find(w.session_id);
    if (!row) return Error{which + " name no session row"};
    if (row->status != "live") return ClosingOutcome::AlreadyClosed;
    if (w.recording) {
      if (auto st = store.add_recording(w.session_id, w.channel, *w.recording, w.started_at, w.ended_at); !st)
        return st.error();
    }
    if (auto st = store.finish(w.session_id, w.ended_at, w.exit_status, w.status, w.reason); !st) return st.error();
    nlohmann::json details = closing_details(w);
    if (extra.is_object()) details.update(extra);
    const std::string& server = w.server.empty() ? row->server : w.server;  // a route named in the command
    stored = chain_append(*db, Event{now, std::string(kind), w.actor, w.source, server, w.session_id, details});
    tx.commit();
  } catch (const db::DbError& e) {
    return Error{which + " could not be committed: " + e.what()};
  }
  // The database row is the record of truth; a sink that cannot be written is logged by the
  // caller, and never makes the writes be tried again (they would be refused as already closed).
  if (auto st = emit_to_sinks(sinks, stored); !st)
    return Error{"event " + std::to_string(stored.id) + " (" + stored.event.kind + ") is in the database, but " +
                 st.error().message};
  return ClosingOutcome::Written;
}

}  // namespace bastion::audit
