#include "audit/client_terms.h"

#include <chrono>

#include "audit/sql_evidence_store.h"

namespace bastion::audit {
namespace {

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

std::vector<ClientTerms> list_client_terms(db::Database& db) { return SqlEvidenceStore(db).client_terms(); }

std::optional<ClientTerms> find_client_terms(db::Database& db, const std::string& name) {
  return SqlEvidenceStore(db).client_terms_of(name);
}

Result<ClientTerms> set_client_terms(db::Database& db, const std::string& name, const ClientTermsChange& change) {
  if (auto st = check_days("the recording retention", change.recording_retention_days); !st) return st.error();
  if (auto st = check_days("the event retention", change.event_retention_days); !st) return st.error();
  if (change.grace_days && *change.grace_days < 0) return Error{"the grace period must be 0 or more days"};
  db::Database::Transaction tx(db);
  SqlEvidenceStore store(db);
  auto current = store.client_terms_of(name);
  if (!current) return Error{"no client named '" + name + "' (a client exists once a server is added for it)"};
  const ClientTerms t = changed(*current, change);
  store.write_client_terms(t);
  tx.commit();
  return t;
}

}  // namespace bastion::audit
