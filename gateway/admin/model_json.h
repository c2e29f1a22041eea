#pragma once
// JSON views of the access model, shared by the --json output of the commands and by the
// {before, after} details of their audit events, so both always describe an object the same way.
// None of them ever includes a TOTP secret.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit/access_json.h"
#include "authz/model.h"

namespace bastion::gateway::admin {

// grant_state and grant_json (with the grant's emergency flag) are the evidence's own shapes,
// shared with the client export.
using audit::grant_json;
using audit::grant_state;

nlohmann::json operator_json(const authz::Operator& op);  // name, role, client, disabled
nlohmann::json key_json(const authz::OperatorKey& k);     // type, fingerprint, comment
nlohmann::json keys_json(const std::vector<authz::OperatorKey>& keys);
nlohmann::json server_json(const authz::Server& s);
nlohmann::json entry_json(std::string_view server, const authz::CatalogueEntry& e);
nlohmann::json grants_json(const std::vector<authz::Grant>& grants, Seconds now);

// joined_ops: "shell,status".
std::string joined_ops(const std::vector<std::string>& ops);

}  // namespace bastion::gateway::admin
