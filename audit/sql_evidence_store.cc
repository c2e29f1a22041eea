#include "audit/sql_evidence_store.h"

namespace bastion::audit {
namespace {

constexpr std::string_view kTermsQuery =
    "SELECT name, recording_retention_days, event_retention_days, contract_end, grace_days FROM clients";

std::optional<int> opt_days(const db::Statement& q, int col) {
  if (q.col_null(col)) return std::nullopt;
  return static_cast<int>(q.col_int(col));
}

ClientTerms terms_row(const db::Statement& q) {
  ClientTerms t;
  t.name = q.col_text(0);
  t.recording_retention_days = opt_days(q, 1);
  t.event_retention_days = opt_days(q, 2);
  if (!q.col_null(3)) t.contract_end = from_unix(q.col_int(3));
  t.grace_days = static_cast<int>(q.col_int(4));
  return t;
}

std::optional<std::int64_t> as_column(const std::optional<int>& days) {
  if (!days) return std::nullopt;
  return *days;
}

std::optional<std::int64_t> as_column(const std::optional<Seconds>& t) {
  if (!t) return std::nullopt;
  return static_cast<std::int64_t>(to_unix(*t));
}

// The sessions of client ?1 (EvidenceStore::sessions_of_client): those whose chained
// session.start names it, so that an edited row neither drags another client's session into a
// purge nor keeps one out of it; rows with no chained start at all (their start could not be
// recorded) go by their own columns.
std::string client_sessions() {
  return "SELECT id FROM sessions WHERE id IN (" + chained_sessions_of_client_sql("?1") + ") " +
         "OR (id NOT IN (SELECT session_id FROM events WHERE kind = 'session.start' AND session_id IS NOT NULL) AND "
         "(client = ?1 OR server IN (SELECT name FROM servers WHERE client = ?1)))";
}

// The access requests of client ?1 that ended before ?2: decided, and ended by their decision or
// by the end of their grant, the earlier of its revocation and its not_after (a CASE: SQLite's
// two-argument min() is PostgreSQL's least()). A pending request (even one past its deadline that
// no command has settled yet) or an approved one whose grant runs on past ?2 stays.
constexpr std::string_view kEndedRequests =
    "SELECT r.id FROM access_requests r JOIN servers s ON s.id = r.server_id LEFT JOIN grants g ON g.id = r.grant_id "
    "WHERE s.client = ?1 AND r.status <> 'pending' AND "
    "(CASE WHEN r.status <> 'approved' THEN r.decided_at "
    "WHEN g.revoked_at IS NOT NULL AND g.revoked_at < g.not_after THEN g.revoked_at ELSE g.not_after END) < ?2 "
    "ORDER BY r.id";

std::vector<std::int64_t> ids(db::Statement& q) {
  std::vector<std::int64_t> out;
  while (q.step()) out.push_back(q.col_int(0));
  return out;
}

void delete_by_id(db::Database& db, std::string_view table, std::int64_t id) {
  db.prepare("DELETE FROM " + std::string(table) + " WHERE id = ?").bind(1, id).step();
}

}  // namespace

std::string chained_sessions_of_client_sql(std::string_view param) {
  return "SELECT c.session_id FROM events c WHERE c.kind = 'session.start' AND c.session_id IS NOT NULL AND "
         "coalesce(json_extract(c.details, '$.client'), (SELECT client FROM servers WHERE name = c.server)) = " +
         std::string(param);
}

std::string chained_sessions_of_client_indexed_sql(std::string_view param) {
  const std::string p(param);
  return "SELECT c.session_id FROM events c WHERE c.kind = 'session.start' AND json_extract(c.details, '$.client') = " +
         p +
         " UNION ALL SELECT c.session_id FROM events c WHERE c.kind = 'session.start' AND "
         "json_extract(c.details, '$.client') IS NULL AND c.server IN (SELECT name FROM servers WHERE client = " +
         p + ")";
}

std::vector<ClientTerms> SqlEvidenceStore::client_terms() {
  auto q = db_.prepare(std::string(kTermsQuery) + " ORDER BY name");
  std::vector<ClientTerms> out;
  while (q.step()) out.push_back(terms_row(q));
  return out;
}

std::optional<ClientTerms> SqlEvidenceStore::client_terms_of(const std::string& client) {
  auto q = db_.prepare(std::string(kTermsQuery) + " WHERE name = ?");
  q.bind(1, client);
  if (!q.step()) return std::nullopt;
  return terms_row(q);
}

void SqlEvidenceStore::write_client_terms(const ClientTerms& t) {
  auto q = db_.prepare(
      "UPDATE clients SET recording_retention_days = ?, event_retention_days = ?, contract_end = ?, grace_days = ? "
      "WHERE name = ?");
  q.bind(1, as_column(t.recording_retention_days)).bind(2, as_column(t.event_retention_days));
  q.bind(3, as_column(t.contract_end)).bind(4, std::int64_t{t.grace_days}).bind(5, t.name);
  q.step();
}

void SqlEvidenceStore::each_event(const std::function<void(EventRow&&)>& f) {
  auto q = db_.prepare("SELECT " + std::string(kEventColumns) + " FROM events ORDER BY id");
  while (q.step()) f(read_event_row(q));
}

std::vector<EventRow> SqlEvidenceStore::events_of_session(std::int64_t session_id) {
  auto q = db_.prepare("SELECT " + std::string(kEventColumns) + " FROM events WHERE session_id = ? ORDER BY id");
  q.bind(1, session_id);
  std::vector<EventRow> out;
  while (q.step()) out.push_back(read_event_row(q));
  return out;
}

std::optional<EventRow> SqlEvidenceStore::event_next_to(std::int64_t id, bool before) {
  auto q = db_.prepare("SELECT " + std::string(kEventColumns) + " FROM events WHERE id " + (before ? "<" : ">") +
                       " ? ORDER BY id " + (before ? "DESC" : "ASC") + " LIMIT 1");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_event_row(q);
}

std::vector<std::pair<std::int64_t, std::string>> SqlEvidenceStore::purge_events() {
  // kind = 'retention.purge' as a constant: the partial index events_retention_purge (migration 17)
  // answers it, where a prefix match would read every event.
  auto q = db_.prepare("SELECT id, details FROM events WHERE kind = 'retention.purge' ORDER BY id");
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (q.step()) out.emplace_back(q.col_int(0), q.col_text(1));
  return out;
}

std::vector<RecordingFacts> SqlEvidenceStore::recording_facts(std::optional<std::int64_t> session_id) {
  auto q = db_.prepare(std::string("SELECT id, session_id, path, sha256 FROM recordings") +
                       (session_id ? " WHERE session_id = ?" : "") + " ORDER BY id");
  if (session_id) q.bind(1, *session_id);
  std::vector<RecordingFacts> rows;
  while (q.step()) rows.push_back({q.col_int(0), q.col_int(1), q.col_text(2), q.col_text(3)});
  return rows;
}

std::vector<SessionRow> SqlEvidenceStore::session_rows(std::optional<std::int64_t> session_id) {
  auto q = db_.prepare(std::string(R"(SELECT id, "operator", server, login, grant_id, client, started_at, ended_at, status
                                      FROM sessions)") + (session_id ? " WHERE id = ?" : "") + " ORDER BY id");
  if (session_id) q.bind(1, *session_id);
  std::vector<SessionRow> rows;
  while (q.step()) {
    SessionRow s;
    s.id = q.col_int(0);
    s.operator_name = q.col_text(1);
    s.server = q.col_text(2);
    s.login = q.col_text(3);
    if (!q.col_null(4)) s.grant_id = q.col_int(4);
    s.client = q.col_text(5);
    s.start = from_unix(q.col_int(6));
    if (!q.col_null(7)) s.end = from_unix(q.col_int(7));
    s.status = q.col_text(8);
    rows.push_back(std::move(s));
  }
  return rows;
}

std::vector<std::int64_t> SqlEvidenceStore::sessions_of_client(const std::string& client) {
  auto q = db_.prepare(client_sessions() + " ORDER BY id");
  q.bind(1, client);
  return ids(q);
}

std::vector<RecordingFacts> SqlEvidenceStore::recordings_of_client_before(const std::string& client,
                                                                          std::int64_t before) {
  auto q = db_.prepare("SELECT id, session_id, path, sha256 FROM recordings WHERE session_id IN (" + client_sessions() +
                       ") AND coalesce(ended_at, started_at) < ?2 ORDER BY id");
  q.bind(1, client).bind(2, before);
  std::vector<RecordingFacts> rows;
  while (q.step()) rows.push_back({q.col_int(0), q.col_int(1), q.col_text(2), q.col_text(3)});
  return rows;
}

std::vector<DatedEvent> SqlEvidenceStore::events_of_client_before(const std::string& client, std::int64_t before) {
  auto q = db_.prepare(
      "SELECT id, hash, session_id, kind FROM events WHERE (server IN (SELECT name FROM servers WHERE client = ?1) OR "
      "session_id IN (" + client_sessions() + ")) AND at < ?2 ORDER BY id");
  q.bind(1, client).bind(2, before);
  std::vector<DatedEvent> out;
  while (q.step()) {
    DatedEvent e{q.col_int(0), q.col_text(1), std::nullopt, q.col_text(3)};
    if (!q.col_null(2)) e.session_id = q.col_int(2);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::int64_t> SqlEvidenceStore::requests_of_client_ended_before(const std::string& client,
                                                                            std::int64_t before) {
  auto q = db_.prepare(kEndedRequests);
  q.bind(1, client).bind(2, before);
  return ids(q);
}

void SqlEvidenceStore::delete_recording(std::int64_t id) { delete_by_id(db_, "recordings", id); }
void SqlEvidenceStore::delete_event(std::int64_t id) { delete_by_id(db_, "events", id); }
void SqlEvidenceStore::delete_session(std::int64_t id) { delete_by_id(db_, "sessions", id); }

void SqlEvidenceStore::delete_request(std::int64_t id) {
  db_.prepare("DELETE FROM request_approvals WHERE request_id = ?").bind(1, id).step();
  delete_by_id(db_, "access_requests", id);
}

void SqlEvidenceStore::note_on_session(std::int64_t session_id, const std::string& note) {
  db_.prepare("UPDATE sessions SET reason = CASE WHEN reason = '' THEN ?1 ELSE reason || '; ' || ?1 END WHERE id = ?2")
      .bind(1, note)
      .bind(2, session_id)
      .step();
}

std::map<std::string, std::string> SqlEvidenceStore::server_clients() {
  auto q = db_.prepare("SELECT name, client FROM servers");
  std::map<std::string, std::string> out;
  while (q.step()) out[q.col_text(0)] = q.col_text(1);
  return out;
}

std::optional<EgressFact> SqlEvidenceStore::egress_of(const SessionRow& s) {
  auto q = db_.prepare(
      "SELECT e.kind, e.session_id, e.details FROM events e JOIN sessions o ON o.id = e.session_id "
      "WHERE e.kind IN ('egress.certificate', 'egress.signature') AND e.session_id <= ?1 AND o.server = ?2 "
      "AND o.login = ?3 AND o.pid = ?4 AND o.pid_start = ?5 AND coalesce(o.grant_id, 0) = ?6 "
      "ORDER BY e.id DESC LIMIT 1");
  q.bind(1, s.id).bind(2, s.server).bind(3, s.login).bind(4, std::int64_t{s.pid}).bind(5, s.pid_start)
      .bind(6, s.grant_id.value_or(0));
  if (!q.step()) return std::nullopt;
  auto details = nlohmann::json::parse(q.col_text(2), nullptr, false);
  return EgressFact{q.col_text(0), q.col_int(1), details.is_discarded() ? nlohmann::json::object() : details};
}

}  // namespace bastion::audit
