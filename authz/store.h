#pragma once
// Store: the access model's persistence. Gateway code talks only to this interface; SQLite is the
// embedded implementation (authz/sqlite_store.h), a PostgreSQL one can slot in beside it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authz/model.h"
#include "authz/result.h"

namespace bastion::authz {

struct NewOperator {
  std::string name;
  Role role = Role::Operator;
  std::string client;       // required for Role::Client
  std::string totp_secret;  // base32
};

struct NewGrant {
  std::string operator_name;
  std::string server_name;
  std::string login;
  std::vector<std::string> ops;
  Seconds not_before{};
  Seconds not_after{};
  std::string reason;
  std::string granted_by;
  bool emergency = false;  // break-glass: see Grant::emergency
};

// Change is one unit of work: every write made through the store, and through anything sharing
// its database (the audit event log), until commit() becomes visible at once; destroyed without
// commit(), it is all undone. Admin commands use it so that a change and its audit event are
// recorded together or not at all.
class Change {
 public:
  virtual ~Change() = default;
  virtual void commit() = 0;  // throws db::DbError if the database refuses
};
using ChangePtr = std::unique_ptr<Change>;

class Store {
 public:
  virtual ~Store() = default;

  virtual ChangePtr begin_change() = 0;

  // Operators and keys.
  virtual Result<Operator> add_operator(const NewOperator& op) = 0;
  virtual std::optional<Operator> find_operator(std::string_view name) = 0;
  virtual std::vector<Operator> list_operators() = 0;
  virtual Status set_operator_disabled(std::string_view name, bool disabled) = 0;
  // add_key parses an authorized_keys line ("ssh-ed25519 AAAA… comment").
  virtual Result<OperatorKey> add_key(std::string_view operator_name, std::string_view authorized_key_line) = 0;
  virtual std::vector<OperatorKey> keys_of(std::int64_t operator_id) = 0;
  // consume_totp_step records that the code of time step `step` was used by this operator; returns
  // false (and records nothing) if that step or a later one was already used: a code is accepted once.
  virtual bool consume_totp_step(std::int64_t operator_id, std::int64_t step) = 0;
  // remove_key removes the key with that fingerprint ("SHA256:…") from the operator; returns it.
  virtual Result<OperatorKey> remove_key(std::string_view operator_name, std::string_view fingerprint) = 0;
  // reset_totp replaces the operator's TOTP secret (new_secret, base32, from new_totp_secret()) and
  // forgets the last used step, so that codes of the new secret are accepted from now on.
  virtual Status reset_totp(std::string_view operator_name, std::string_view new_secret) = 0;

  // Servers and their catalogues.
  virtual Result<Server> add_server(const Server& s) = 0;
  virtual std::optional<Server> find_server(std::string_view name) = 0;
  virtual std::vector<Server> list_servers() = 0;
  virtual Result<CatalogueEntry> add_catalogue_entry(std::string_view server_name, const CatalogueEntry& e) = 0;
  virtual std::vector<CatalogueEntry> catalogue_of(std::int64_t server_id) = 0;
  // remove_catalogue_entry refuses while an unexpired, unrevoked grant names the entry (the
  // message lists those grants); returns the removed entry.
  virtual Result<CatalogueEntry> remove_catalogue_entry(std::string_view server_name, std::string_view op) = 0;
  // set_server_kind changes dedicated <-> shared. Making a server shared revokes, at `at`, every
  // grant on it that has not expired or been revoked (shared servers are never granted); those
  // grants are returned as they were before the change.
  virtual Result<std::vector<Grant>> set_server_kind(std::string_view name, ServerKind kind, Seconds at) = 0;
  // set_host_key replaces the pinned host key ("type base64", already canonical).
  virtual Status set_host_key(std::string_view name, std::string_view host_key) = 0;
  // set_egress_mode: how the bastion logs in to the server from its next login on.
  virtual Status set_egress_mode(std::string_view name, EgressMode mode) = 0;
  // set_allowed_env replaces the server's environment allow-list; a name of the unsafe set (or
  // not a name) is refused with the reason (authz/env_policy.h), and nothing changes.
  virtual Status set_allowed_env(std::string_view name, const std::vector<std::string>& names) = 0;
  // remove_server retires a server: it can no longer be found, granted or connected to; its row
  // stays for the grants and sessions that name it, and its name is not reused. Refused while it
  // has unexpired, unrevoked grants unless force, which revokes them at `at` (returned as before).
  virtual Result<std::vector<Grant>> remove_server(std::string_view name, bool force, Seconds at) = 0;

  // Grants. add_grant validates (server exists and is dedicated, ops are in its catalogue, window
  // is non-empty, operator exists and is enabled) and refuses with a reason otherwise.
  virtual Result<Grant> add_grant(const NewGrant& g) = 0;
  virtual Status revoke_grant(std::int64_t id, Seconds at) = 0;
  virtual std::optional<Grant> find_grant(std::int64_t id) = 0;
  virtual std::vector<Grant> list_grants() = 0;
  // grants_for returns every grant (even expired or revoked) of that operator on that server and
  // login; decide() picks.
  virtual std::vector<Grant> grants_for(std::int64_t operator_id, std::int64_t server_id, std::string_view login) = 0;
  virtual std::vector<Grant> grants_of(std::int64_t operator_id) = 0;
  // grants_of_client returns every grant on that client's servers, removed ones included, oldest first.
  virtual std::vector<Grant> grants_of_client(std::string_view client) = 0;
  // who_has_access returns the grants on that server usable at `now` (started, not expired, not
  // revoked), ordered by operator then id.
  virtual std::vector<Grant> who_has_access(std::int64_t server_id, Seconds now) = 0;

  // The longest window add_grant accepts (setting "max-grant-duration"; a built-in default until an
  // officer sets it). set_max_grant_duration refuses less than a minute or more than a year.
  virtual std::chrono::seconds max_grant_duration() = 0;
  virtual Status set_max_grant_duration(std::chrono::seconds d) = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace bastion::authz
