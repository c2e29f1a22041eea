#pragma once
// ClientTerms: each client's contract terms for its evidence (columns of `clients`, migration 2):
// how long recordings and events are kept, and when everything of theirs is destroyed after the
// contract ends. Read by retention (audit/retention.h), set by `client set`.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "authz/clock.h"
#include "authz/db.h"
#include "authz/result.h"

namespace bastion::audit {

struct ClientTerms {
  std::string name;
  std::optional<int> recording_retention_days;  // nullopt: kept until the contract ends
  std::optional<int> event_retention_days;      // nullopt: kept until the contract ends
  std::optional<Seconds> contract_end;          // nullopt: open-ended
  int grace_days = 90;                          // after contract_end, before destruction

  // destruction_at: when everything of the client is destroyed, if the contract has an end.
  std::optional<Seconds> destruction_at() const;
};

// ClientTermsChange: what `client set` changes; an absent field is left as it is, a present
// nullopt clears it ("never").
struct ClientTermsChange {
  std::optional<std::optional<int>> recording_retention_days;
  std::optional<std::optional<int>> event_retention_days;
  std::optional<std::optional<Seconds>> contract_end;
  std::optional<int> grace_days;
};

// list_client_terms returns every client, by name. Throws db::DbError.
std::vector<ClientTerms> list_client_terms(db::Database& db);
std::optional<ClientTerms> find_client_terms(db::Database& db, const std::string& name);

// set_client_terms applies `change` to an existing client and returns the new terms. Refuses an
// unknown client and negative day counts.
Result<ClientTerms> set_client_terms(db::Database& db, const std::string& name, const ClientTermsChange& change);


}  // namespace bastion::audit
