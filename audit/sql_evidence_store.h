#pragma once
// SqlEvidenceStore: EvidenceStore (audit/evidence_store.h) through db::Database, the same SQL on
// SQLite and PostgreSQL. It borrows the database: whoever made it keeps the Database alive.
#include <string>
#include <string_view>

#include "audit/evidence_store.h"
#include "authz/db.h"

namespace bastion::audit {

// The SQL of "the sessions of a client as the chain states it", shared by the stores that select
// by client (this one, audit/sqlite_event_log.cc, audit/sqlite_session_store.cc).
// chained_sessions_of_client_sql returns an SQL subquery selecting the ids of the sessions whose
// chained session.start states the client given by the SQL parameter `param` ("?" or "?1"), as
// chained_clients() (audit/session_facts.h) reads it; for the stores' queries by client.
std::string chained_sessions_of_client_sql(std::string_view param);

// chained_sessions_of_client_indexed_sql: the same set of session ids as
// chained_sessions_of_client_sql, written so that the partial index events_session_start_client
// (migration 15) answers it instead of a scan of every event: the sessions whose session.start
// states the client, and those whose start states none and names one of the client's servers.
// `param` appears twice: give a numbered parameter ("?3").
std::string chained_sessions_of_client_indexed_sql(std::string_view param);

class SqlEvidenceStore final : public EvidenceStore {
 public:
  explicit SqlEvidenceStore(db::Database& db) : db_(db) {}

  std::vector<ClientTerms> client_terms() override;
  std::optional<ClientTerms> client_terms_of(const std::string& client) override;
  void write_client_terms(const ClientTerms& t) override;

  void each_event(const std::function<void(EventRow&&)>& f) override;
  std::vector<EventRow> events_of_session(std::int64_t session_id) override;
  std::optional<EventRow> event_next_to(std::int64_t id, bool before) override;
  std::vector<std::pair<std::int64_t, std::string>> purge_events() override;
  std::vector<RecordingFacts> recording_facts(std::optional<std::int64_t> session_id) override;
  std::vector<SessionRow> session_rows(std::optional<std::int64_t> session_id) override;

  std::vector<std::int64_t> sessions_of_client(const std::string& client) override;
  std::vector<RecordingFacts> recordings_of_client_before(const std::string& client, std::int64_t before) override;
  std::vector<DatedEvent> events_of_client_before(const std::string& client, std::int64_t before) override;
  std::vector<std::int64_t> requests_of_client_ended_before(const std::string& client, std::int64_t before) override;
  void delete_recording(std::int64_t id) override;
  void delete_event(std::int64_t id) override;
  void delete_session(std::int64_t id) override;
  void delete_request(std::int64_t id) override;
  void note_on_session(std::int64_t session_id, const std::string& note) override;

  std::map<std::string, std::string> server_clients() override;
  std::optional<EgressFact> egress_of(const SessionRow& s) override;

 private:
  db::Database& db_;
};

}  // namespace bastion::audit
