#pragma once
// Session facts as the chain states them: what a session's chained events say about who ran it,
// where, under which grant and client, when it started and ended, and which recording digest it
// closed with. The `sessions` and `recordings` tables are conveniences for queries; these events
// are the evidence (hash-chained, audit/event_chain.h). `audit verify` checks the tables against
// them, and client scoping of review reads them, so that an edited row can neither pass unseen nor
// move a session into another client's review.
//
//   session.start      actor = operator, server, source; details {login, grant, client,
//                      started_at} (client and started_at since schema 9; older events lack them)
//   session.end        details {status, reason, ended_at, exit_status?, recording?: {path, sha256, …}}
//   session.recovered  the same, written by the recovery sweep (audit/session_recovery.h)
//   session.aborted    the end of a killed session before recovery existed: no recording
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authz/db.h"

namespace bastion::audit {

struct ChainedStart {
  std::int64_t event_id = 0;
  std::string operator_name, server, source;
  std::optional<std::string> login, client;
  std::optional<std::int64_t> grant;  // details.grant when it is an integer
  bool grant_stated = false;          // details holds "grant" (an integer or null)
  std::optional<std::int64_t> started_at;
};

struct ChainedEnd {
  std::int64_t event_id = 0;
  std::string kind;
  std::optional<std::string> status;
  std::optional<std::int64_t> ended_at;
};

struct ChainedRecording {
  std::int64_t event_id = 0;
  std::string path, sha256;
};

struct ChainedSession {
  std::optional<ChainedStart> start;  // the first session.start of the session
  std::vector<ChainedEnd> ends;       // in event order
  std::vector<ChainedRecording> recordings;
};

// states_session_facts: whether events of `kind` are among those above.
bool states_session_facts(std::string_view kind);

// chained_sessions reads every session.start/end/recovered/aborted event. Throws db::DbError.
std::map<std::int64_t, ChainedSession> chained_sessions(db::Database& db);

// chained_session: what chained_sessions() says of one session, read from that session's own
// events only (the events_by_session index); nothing if the chain holds no event of it. For the
// check of one session (audit/verify.h verify_session). Throws db::DbError.
std::optional<ChainedSession> chained_session(db::Database& db, std::int64_t session_id);

// chained_clients maps each session with a chained session.start to its client: the event's
// details.client, or for events written before clients were stated, the client of the event's
// (chained) server. Sessions with no start event are absent: no reviewer sees them.
std::map<std::int64_t, std::string> chained_clients(db::Database& db);

// chained_client_of: what chained_clients() says of one session, read from that session's own
// events only (the events_by_session index): a page about one session never reads the whole
// chain. Nothing if the chain states no client for it. Throws db::DbError.
std::optional<std::string> chained_client_of(db::Database& db, std::int64_t session_id);

// PurgedEvidence: what retention.purge events (audit/retention.h, chained) say was destroyed, so
// that its absence is not taken for tampering.
struct PurgedEvidence {
  std::set<std::int64_t> sessions;                             // rows deleted
  std::set<std::int64_t> session_events;                       // sessions whose start/end events went
  std::set<std::pair<std::int64_t, std::string>> recordings;   // (session id, path) deleted
};

// purged_evidence reads every retention.purge event (through their partial index, not a scan of the
// chain). Throws db::DbError.
PurgedEvidence purged_evidence(db::Database& db);

}  // namespace bastion::audit
