#include "authz/liveness.h"

#include <algorithm>
#include <variant>

#include "authz/decide.h"

namespace bastion::authz {

std::optional<std::string> why_not_live(const LivenessInput& in) {
  if (in.grant == nullptr || in.grant->id != in.grant_id)
    return "grant " + std::to_string(in.grant_id) + " no longer exists";
  if (in.who == nullptr || in.who->id != in.grant->operator_id)
    return "the account of grant " + std::to_string(in.grant_id) + " no longer exists";
  if (in.server == nullptr || in.server->id != in.grant->server_id)
    return "server " + in.grant->server_name + " was removed";
  const Decision d = decide({*in.who, *in.server, in.grant->login, nullptr, std::span(in.grant, 1), {}, in.now});
  if (const auto* deny = std::get_if<Deny>(&d)) return deny->reason;
  // The key this connection proved is the first factor: once the officer removes it, what it
  // opened ends too.
  if (std::none_of(in.keys.begin(), in.keys.end(), [&](const OperatorKey& k) { return k.fingerprint == in.key_fingerprint; }))
    return "key " + std::string(in.key_fingerprint) + " of " + in.who->name + " was removed";
  return std::nullopt;
}

}  // namespace bastion::authz
