#include "gateway/admin/key_file.h"

#include "authz/sqlite_store.h"
#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {
namespace {

// registered_owner names the operator who already holds key, if any.
std::optional<std::string> registered_owner(authz::Store& store, const authz::OperatorKey& key) {
  for (const auto& op : store.list_operators()) {
    for (const auto& k : store.keys_of(op.id)) {
      if (k.type == key.type && k.base64 == key.base64) return op.name;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<authz::OperatorKey>> parse_keys(const std::string& path) {
  auto lines = read_key_file(path);
  if (!lines) return lines.error();
  std::vector<authz::OperatorKey> keys;
  for (const auto& line : *lines) {
    auto key = authz::parse_authorized_key(line);
    if (!key) return Error{path + ": " + key.error().message};
    keys.push_back(*key);
  }
  return keys;
}

Status check_keys_free(authz::Store& store, const std::vector<authz::OperatorKey>& keys) {
  for (const auto& k : keys) {
    if (auto owner = registered_owner(store, k)) {
      return Error{"key " + k.fingerprint + " is already registered to operator '" + *owner + "'"};
    }
  }
  return ok_status();
}

Result<std::vector<authz::OperatorKey>> add_keys(authz::Store& store, const std::string& name,
                                                 const std::vector<authz::OperatorKey>& keys) {
  std::vector<authz::OperatorKey> added;
  for (const auto& k : keys) {
    auto r = store.add_key(name, k.type + " " + k.base64 + (k.comment.empty() ? "" : " " + k.comment));
    if (!r) return r.error();
    added.push_back(*r);
  }
  return added;
}

}  // namespace bastion::gateway::admin
