#include "audit/session_query.h"

#include "authz/text.h"

#include "audit/session_facts.h"
#include "audit/sqlite_session_store.h"

namespace bastion::audit {
namespace {

bool matches(const SessionRow& s, const SessionFilter& f, const std::map<std::int64_t, std::string>& clients) {
  if (!f.server.empty() && s.server != f.server) return false;
  if (!f.operator_name.empty() && s.operator_name != f.operator_name) return false;
  if (!f.client.empty() && client_of(s, clients) != f.client) return false;
  if (f.since && s.start < *f.since) return false;
  if (f.until && s.start >= *f.until) return false;
  return !f.live_only || s.status == "live";
}

}  // namespace

std::map<std::string, std::string> server_clients(db::Database& db) {
  auto q = db.prepare("SELECT name, client FROM servers");
  std::map<std::string, std::string> out;
  while (q.step()) out[q.col_text(0)] = q.col_text(1);
  return out;
}

std::string client_of(const SessionRow& s, const std::map<std::int64_t, std::string>& chained_clients) {
  const auto it = chained_clients.find(s.id);
  return it == chained_clients.end() ? std::string() : it->second;
}

std::vector<SessionRow> find_sessions(const db::DatabasePtr& db, const SessionFilter& f) {
  const auto clients = chained_clients(*db);
  SqliteSessionStore store(db);
  std::vector<SessionRow> out;
  for (auto& s : store.list()) {
    if (matches(s, f, clients)) out.push_back(std::move(s));
  }
  return out;
}

SessionPage find_session_page(const db::DatabasePtr& db, const SessionPageQuery& q) {
  return SqliteSessionStore(db).page(q);
}

nlohmann::json session_json(const SessionRow& s, const std::string& client) {
  using Json = nlohmann::json;
  return {{"id", s.id},
          {"operator", s.operator_name},
          {"server", s.server},
          {"login", s.login},
          {"client", client},
          {"source", s.source},
          {"grant_id", s.grant_id ? Json(*s.grant_id) : Json(nullptr)},
          {"start", iso8601_utc(s.start)},
          {"end", s.end ? Json(iso8601_utc(*s.end)) : Json(nullptr)},
          {"status", s.status},
          {"exit_status", s.exit_status ? Json(*s.exit_status) : Json(nullptr)},
          {"reason", s.reason},
          {"pid", s.pid}};
}

std::optional<EgressFact> egress_of(db::Database& db, const SessionRow& s) {
  auto q = db.prepare(
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
