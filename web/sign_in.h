#pragma once
// sign_in: the portal's two factors — the account's web password, then a TOTP code of the SAME
// secret as SSH, consumed through the same Store::consume_totp_step, so a code used on SSH is
// refused here and the other way round. Failures feed the same auth_failures and bans as SSH
// (gateway/bans.h): a wrong password counts against the source address only (a stranger who
// knows a name must not lock its owner out, as with an unregistered SSH key); a wrong or reused
// code after the right password counts against the account too.
#include <string>

#include "authz/bans.h"
#include "authz/model.h"
#include "authz/result.h"
#include "web/request_scope.h"

namespace bastion::web {

struct SignInAttempt {
  std::string account, password, code;
  std::string address;  // the peer's IP address (ban subject)
  std::string source;   // "address:port" for the audit trail
};

struct SignedIn {
  authz::Operator who;
  std::string token;  // the session cookie's value; only its hash is stored
};

// sign_in checks both factors and opens a portal session. Each outcome is an audit event
// (auth.success / auth.failure with method "web-password" or "web-totp"). Error: a sentence for
// the person signing in that reveals nothing about which of account or password was wrong.
Result<SignedIn> sign_in(RequestScope& scope, const SignInAttempt& a, const Clock& clock,
                         const authz::BanPolicy& policy, const audit::EventSinks& sinks);

}  // namespace bastion::web
