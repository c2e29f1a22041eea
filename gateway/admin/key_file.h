#pragma once
// Public key files for `operator add` and `operator key add`: every key of the file is parsed and
// checked before anything is written, so a bad line leaves nothing half-registered.
#include <string>
#include <vector>

#include "authz/store.h"

namespace bastion::gateway::admin {

// parse_keys reads the authorized_keys-style file at path; an error names the file and the problem.
Result<std::vector<authz::OperatorKey>> parse_keys(const std::string& path);

// check_keys_free refuses a key already registered to anyone ("key SHA256:… is already registered
// to operator 'alice'").
Status check_keys_free(authz::Store& store, const std::vector<authz::OperatorKey>& keys);

// add_keys registers keys for the operator `name`; returns them with their ids.
Result<std::vector<authz::OperatorKey>> add_keys(authz::Store& store, const std::string& name,
                                                 const std::vector<authz::OperatorKey>& keys);

}  // namespace bastion::gateway::admin
