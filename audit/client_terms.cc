#include "audit/client_terms.h"

#include <chrono>

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

Status check_days(const char* what, const std::optional<std::optional<int>>& days) {
  if (days && *days && **days < 0) {
    return Error{std::string(what) + " must be 0 or more days, not " + std::to_string(**days)};
  }
  return ok_status();
}

ClientTerms changed(ClientTerms t, const ClientTermsChange& c) {
  if (c.recording_retention_days) t.recording_retention_days = *c.recording_retention_days;
  if (c.event_retention_days) t.event_retention_days = *c.event_retention_days;
  if (c.contract_end) t.contract_end = *c.contract_end;
  if (c.grace_days) t.grace_days = *c.grace_days;
  return t;
}

}  // namespace

std::optional<Seconds> ClientTerms::destruction_at() const {
  if (!contract_end) return std::nullopt;
  return *contract_end + std::chrono::days(grace_days);
}

std::vector<ClientTerms> list_client_terms(db::Database& db) {
  auto q = db.prepare(std::string(kTermsQuery) + " ORDER BY name");
  std::vector<ClientTerms> out;
  while (q.step()) out.push_back(terms_row(q));
  return out;
}

std::optional<ClientTerms> find_client_terms(db::Database& db, const std::string& name) {
  auto q = db.prepare(std::string(kTermsQuery) + " WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return terms_row(q);
}

Result<ClientTerms> set_client_terms(db::Database& db, const std::string& name, const ClientTermsChange& change) {
  if (auto st = check_days("the recording retention", change.recording_retention_days); !st) return st.error();
  if (auto st = check_days("the event retention", change.event_retention_days); !st) return st.error();
  if (change.grace_days && *change.grace_days < 0) return Error{"the grace period must be 0 or more days"};
  db::Database::Transaction tx(db);
  auto current = find_client_terms(db, name);
  if (!current) return Error{"no client named '" + name + "' (a client exists once a server is added for it)"};
  const ClientTerms t = changed(*current, change);
  auto q = db.prepare(
      "UPDATE clients SET recording_retention_days = ?, event_retention_days = ?, contract_end = ?, grace_days = ? "
      "WHERE name = ?");
  q.bind(1, as_column(t.recording_retention_days)).bind(2, as_column(t.event_retention_days));
  q.bind(3, as_column(t.contract_end)).bind(4, std::int64_t{t.grace_days}).bind(5, name);
  q.step();
  tx.commit();
  return t;
}

}  // namespace bastion::audit
