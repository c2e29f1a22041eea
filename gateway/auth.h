#pragma once
// Two-factor authentication of an operator on the client-facing session: a registered public key
// first, then a TOTP code by keyboard-interactive (DESIGN.md rule 1). Neither alone succeeds.
#include <functional>
#include <string>

#include "authz/clock.h"
#include "authz/model.h"
#include "authz/result.h"
#include "authz/store.h"
#include "gateway/ssh_ptr.h"
#include "gateway/target.h"

namespace bastion::gateway {

// AuthEvent is what authentication reports for the audit trail (success and every failure).
struct AuthEvent {
  bool success = false;
  std::string user;    // as sent by the client
  std::string method;  // "publickey" | "keyboard-interactive" | "none"
  std::string reason;  // for failures
  bool unknown_user = false;
};

struct AuthSettings {
  int max_attempts = 6;  // failed attempts before the connection is dropped
};

struct Authenticated {
  authz::Operator who;
  UserSpec spec;
  std::string key_fingerprint;
};

// AuthEventSink records an AuthEvent; an error means it could not be recorded, and then the
// authentication ends in failure (DESIGN.md rule 5: nothing happens unrecorded).
using AuthEventSink = std::function<Status(const AuthEvent&)>;

// authenticate drives the auth phase of an accepted session (key exchange done) to completion.
// `store` may be null when the database could not be opened: then every attempt fails (fail closed).
Result<Authenticated> authenticate(ssh_session session, authz::Store* store, const Clock& clock,
                                   const AuthSettings& settings, const AuthEventSink& on_event);

}  // namespace bastion::gateway
