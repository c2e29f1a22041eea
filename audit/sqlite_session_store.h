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
  std::vector<RecordingRow> recordings_of(std::int64_t session_id) override;
  Status request_kill(std::int64_t id, std::string_view by, Seconds at) override;
  std::optional<KillRequest> kill_request(std::int64_t id) override;

 private:
  db::DatabasePtr db_;
};

SessionStorePtr open_sqlite_session_store(db::DatabasePtr db);

}  // namespace bastion::audit
