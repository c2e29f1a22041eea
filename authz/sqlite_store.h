#pragma once
// SqliteStore: the embedded implementation of authz::Store. Every write runs in one BEGIN IMMEDIATE
// transaction, so its checks and its insert see the same database; every refusal is a Result Error
// naming what is wrong and, where it helps, what would be right.
#include <chrono>
#include <string_view>

#include "authz/clock.h"
#include "authz/db.h"
#include "authz/store.h"

namespace bastion::authz {

class SqliteStore final : public Store {
 public:
  // clock stamps created_at and rejects grants that would already have expired; it must outlive
  // the store (the default is a process-wide SystemClock).
  explicit SqliteStore(db::DatabasePtr db, const Clock& clock = default_clock());

  // The longest window add_grant accepts while the setting "max-grant-duration" is not set; access
  // is time-boxed, so a grant cannot be "forever".
  std::chrono::seconds default_max_grant_duration = std::chrono::hours(24 * 30);

  ChangePtr begin_change() override;

  Result<Operator> add_operator(const NewOperator& op) override;
  std::optional<Operator> find_operator(std::string_view name) override;
  std::vector<Operator> list_operators() override;
  Status set_operator_disabled(std::string_view name, bool disabled) override;
  Result<OperatorKey> add_key(std::string_view operator_name, std::string_view authorized_key_line) override;
  std::vector<OperatorKey> keys_of(std::int64_t operator_id) override;
  bool consume_totp_step(std::int64_t operator_id, std::int64_t step) override;
  Result<OperatorKey> remove_key(std::string_view operator_name, std::string_view fingerprint) override;
  Status reset_totp(std::string_view operator_name, std::string_view new_secret) override;

  Result<Server> add_server(const Server& s) override;
  std::optional<Server> find_server(std::string_view name) override;
  std::vector<Server> list_servers() override;
  Result<CatalogueEntry> add_catalogue_entry(std::string_view server_name, const CatalogueEntry& e) override;
  std::vector<CatalogueEntry> catalogue_of(std::int64_t server_id) override;
  Result<CatalogueEntry> remove_catalogue_entry(std::string_view server_name, std::string_view op) override;
  Result<std::vector<Grant>> set_server_kind(std::string_view name, ServerKind kind, Seconds at) override;
  Status set_host_key(std::string_view name, std::string_view host_key) override;
  Status set_egress_mode(std::string_view name, EgressMode mode) override;
  Status set_allowed_env(std::string_view name, const std::vector<std::string>& names) override;
  Result<std::vector<Grant>> remove_server(std::string_view name, bool force, Seconds at) override;

  Result<Grant> add_grant(const NewGrant& g) override;
  Status revoke_grant(std::int64_t id, Seconds at) override;
  std::optional<Grant> find_grant(std::int64_t id) override;
  std::vector<Grant> list_grants() override;
  std::vector<Grant> grants_for(std::int64_t operator_id, std::int64_t server_id, std::string_view login) override;
  std::vector<Grant> grants_of(std::int64_t operator_id) override;
  std::vector<Grant> grants_of_client(std::string_view client) override;
  std::vector<Grant> who_has_access(std::int64_t server_id, Seconds now) override;

  std::chrono::seconds max_grant_duration() override;
  Status set_max_grant_duration(std::chrono::seconds d) override;

  static const Clock& default_clock();

 private:
  Status check_grant(const NewGrant& g, const Operator* who, const Server* server);
  // unexpired_grants: grants on the server neither revoked nor ended at `now` (pending included).
  std::vector<Grant> unexpired_grants(std::int64_t server_id, Seconds now);
  void revoke_all(const std::vector<Grant>& grants, Seconds at);
  db::DatabasePtr db_;
  const Clock& clock_;
};

StorePtr open_sqlite_store(db::DatabasePtr db);

// parse_authorized_key parses "type base64 [comment]" (no authorized_keys options): the type must be
// one we accept, the base64 must decode, and the decoded blob must start with the same type name.
// The result carries the fingerprint "SHA256:…" exactly as `ssh-keygen -lf` prints it; ids are 0.
Result<OperatorKey> parse_authorized_key(std::string_view line);

}  // namespace bastion::authz
