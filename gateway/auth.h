#pragma once
// Two-factor authentication of an operator on the client-facing session: a registered public key
// first, then a TOTP code by keyboard-interactive (DESIGN.md rule 1). Neither alone succeeds.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "authz/clock.h"
#include "authz/model.h"
#include "authz/result.h"
#include "authz/store.h"
#include "gateway/ssh_ptr.h"
#include "gateway/target.h"

namespace bastion::gateway {

// AuthGuard is the brute-force protection authentication consults (gateway/bans.h): bans of the
// source address and locks of the account, shared by every session process.
class AuthGuard {
 public:
  virtual ~AuthGuard() = default;
  // refusal says why `source` may not authenticate as `account` now (a ban or a lock in force),
  // or nothing if it may. If the answer cannot be known (database unreadable) it is a refusal.
  virtual std::optional<std::string> refusal(std::string_view source, std::string_view account) = 0;
  // failed notes one failed attempt; it may place a ban that the next refusal() reports.
  virtual void failed(std::string_view source, std::string_view account) = 0;
};

struct AuthSettings {
  int max_attempts = 6;  // failed attempts before the connection is dropped
  // guard, owned by the daemon, outlives every authentication; null: no brute-force protection.
  AuthGuard* guard = nullptr;
  // on_authenticated runs once both factors passed (the listener stops counting the connection
  // as unauthenticated).
  std::function<void()> on_authenticated;
};

struct Authenticated {
  authz::Operator who;
  UserSpec spec;
  std::string key_fingerprint;
};

class MonitorClient;

// authenticate drives the auth phase of an accepted session (key exchange done) to completion. It
// runs in the sandboxed network process and decides nothing itself: whether a key is registered,
// whether a code is right, bans, locks and every auth event are the monitor's (gateway/monitor.h);
// this side reports what only libssh saw (a bad signature, a malformed user name) and words the
// answers for the peer.
Result<Authenticated> authenticate(ssh_session session, MonitorClient& monitor, const AuthSettings& settings);

}  // namespace bastion::gateway
