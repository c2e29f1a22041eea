#pragma once
// liveness: the live re-check of a running session ("may it go on now?"), as a pure function
// beside decide(): the same rules, the same wording, one truth (DESIGN.md rule 4). The caller
// reads the current rows (a null pointer: the row is gone) and passes them with the clock.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "authz/model.h"

namespace bastion::authz {

struct LivenessInput {
  std::int64_t grant_id = 0;         // the grant the session was opened under
  const Grant* grant = nullptr;      // its current row; null: deleted
  const Operator* who = nullptr;     // the account's current row; null: deleted
  const Server* server = nullptr;    // the grant's server as it is now; null: removed
  std::span<const OperatorKey> keys;  // the account's keys now
  std::string_view key_fingerprint;  // the key the connection authenticated with
  Seconds now{};
};

// why_not_live returns why the session must end now, or nothing if it may go on. It asks decide()
// the connect-time question (op == nullptr) with that one grant, so a revoked or expired grant, a
// disabled account or a server turned shared end the session in decide()'s words; beyond decide,
// the key the connection proved (the first factor) must still be registered.
std::optional<std::string> why_not_live(const LivenessInput& in);

}  // namespace bastion::authz
