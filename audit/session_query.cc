#include "audit/session_query.h"

#include "authz/text.h"

#include "audit/session_facts.h"
#include "audit/sql_evidence_store.h"
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

std::map<std::string, std::string> server_clients(db::Database& db) { return SqlEvidenceStore(db).server_clients(); }

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

std::optional<EgressFact> egress_of(db::Database& db, const SessionRow& s) { return SqlEvidenceStore(db).egress_of(s); }

}  // namespace bastion::audit
