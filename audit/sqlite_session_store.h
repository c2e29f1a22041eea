#pragma once
// SqliteSessionStore: SessionStore over the embedded SQLite database (tables `sessions` and
// `recordings`, created by the migrations in authz/schema.cc). All SQL of those tables lives here.
#include "audit/session_query.h"
#include "audit/session_store.h"
#include "authz/db.h"

namespace bastion::audit {

// SqliteSessionStore reports failures of the database itself (disk full, corruption) from start,
// finish and add_recording as errors, so the gateway can refuse or end the session (DESIGN.md
// rule 5); find, list and recordings_of have no error channel and let db::DbError propagate.
// SessionCursor: sessions read one row at a time from an open statement (a report of any length
// never holds its rows). It keeps the connection it reads; use it on that connection's thread.
class SessionCursor {
 public:
  SessionCursor(db::DatabasePtr db, db::Statement q) : db_(std::move(db)), q_(std::move(q)) {}
  // next: the next row, or nothing after the last. Throws db::DbError.
  std::optional<SessionRow> next();

 private:
  db::DatabasePtr db_;
  db::Statement q_;
};

// SessionTotals: how many sessions, and their time in all.
struct SessionTotals {
  std::int64_t sessions = 0;
  std::int64_t seconds = 0;  // a live session counts until `now`
};

class SqliteSessionStore final : public SessionStore {
 public:
  explicit SqliteSessionStore(db::DatabasePtr db) : db_(std::move(db)) {}

  Result<std::int64_t> start(const SessionStart& s) override;
  // finish closes a live session once: status must be "closed", "aborted" or "refused", and a
  // session that already ended is never rewritten (its end is evidence).
  Status finish(std::int64_t id, Seconds end, std::optional<int> exit_status, std::string_view status,
                std::string_view reason) override;
  Status add_recording(std::int64_t session_id, int channel, const RecordingSummary& r, Seconds start,
                       Seconds end) override;
  std::optional<SessionRow> find(std::int64_t id) override;
  std::vector<SessionRow> list() override;
  // live_rows returns the rows still "live", oldest first (the recovery sweep's question).
  std::vector<SessionRow> live_rows();
  // page: find_session_page (audit/session_query.h).
  SessionPage page(const SessionPageQuery& q);
  // totals: the sessions matching f and their durations summed, in SQL (the access report). The
  // client is the one the chain states, as for page. Throws db::DbError.
  SessionTotals totals(const SessionFilter& f, Seconds now);
  // by_start: the sessions matching f, oldest start first (ties in id order), as a cursor: the
  // access report streams them. Throws db::DbError.
  SessionCursor by_start(const SessionFilter& f);
  std::vector<RecordingRow> recordings_of(std::int64_t session_id) override;
  Status request_kill(std::int64_t id, std::string_view by, Seconds at) override;
  std::optional<KillRequest> kill_request(std::int64_t id) override;

 private:
  db::DatabasePtr db_;
};

SessionStorePtr open_sqlite_session_store(db::DatabasePtr db);

}  // namespace bastion::audit
