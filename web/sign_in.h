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

// sign_in_with_link opens a portal session with a one-time link of `ssh NAME@bastion web-login`
// (the account passed key + TOTP on SSH moments before). The link is used at most once, within
// its 2 minutes (authz::kWebLoginLinkLife); the use and the session and the auth.success event
// (method "web-login-link") commit together or not at all. A used, expired or unknown link is an
// auth.failure event, counted against the source address only (like a wrong password), and an
// Error saying what happened and what to do. link_state() tells the page without using it.
Result<SignedIn> sign_in_with_link(RequestScope& scope, const std::string& token, const SignInAttempt& where,
                                   const Clock& clock, const authz::BanPolicy& policy, const audit::EventSinks& sinks);

// link_problem: why the link of `token` cannot sign anyone in now (the same sentence the refusal
// gives), or nothing if it can. Reads only: uses nothing, records nothing.
std::optional<std::string> link_problem(RequestScope& scope, const std::string& token, const Clock& clock);

}  // namespace bastion::web
