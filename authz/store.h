#pragma once
// Store: the access model's persistence. Gateway code talks only to this interface; SQLite is the
// embedded implementation (authz/sqlite_store.h), a PostgreSQL one can slot in beside it.
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
};

class Store {
 public:
  virtual ~Store() = default;

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

  // Servers and their catalogues.
  virtual Result<Server> add_server(const Server& s) = 0;
  virtual std::optional<Server> find_server(std::string_view name) = 0;
  virtual std::vector<Server> list_servers() = 0;
  virtual Result<CatalogueEntry> add_catalogue_entry(std::string_view server_name, const CatalogueEntry& e) = 0;
  virtual std::vector<CatalogueEntry> catalogue_of(std::int64_t server_id) = 0;

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
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace bastion::authz
