#include "web/sign_in.h"

#include "authz/sqlite_ban_store.h"
#include "authz/text.h"
#include "authz/totp.h"
#include "authz/web_account_store.h"
#include "authz/web_password.h"
#include "gateway/bans.h"

namespace bastion::web {
namespace {

constexpr const char* kWrongAccountOrPassword = "the account name or the password is wrong";

class Attempt {
 public:
  Attempt(RequestScope& scope, const SignInAttempt& a, const Clock& clock, const authz::BanPolicy& policy,
          const audit::EventSinks& sinks)
      : scope_(scope), a_(a), now_(clock.now()), policy_(policy), sinks_(sinks) {}

  Result<SignedIn> run() {
    authz::SqliteBanStore bans(scope_.db);
    if (auto why = gateway::check_bans(bans, a_.address, a_.account, now_)) return Error{*why};
    const auto who = scope_.store.find_operator(a_.account);
    if (!who) return fail("web-password", "unknown account", kWrongAccountOrPassword, false, true);
    authz::WebAccountStore web(scope_.db);
    const auto hash = web.password_hash(who->id);
    if (!hash || !authz::password_matches(*hash, a_.password)) {
      return fail("web-password", hash ? "wrong password" : "no web password set", kWrongAccountOrPassword, false);
    }
    if (who->disabled) {
      return fail("web-password", "account disabled", "account " + who->name + " is disabled; contact your security officer", false);
    }
    if (who->role == authz::Role::Operator) {
      return fail("web-password", "operators have no portal access",
                  "the web portal is for client reviewers and security officers", false);
    }
    const auto step = authz::totp_match(who->totp_secret, a_.code, now_);
    if (!step) return fail("web-totp", "wrong TOTP code", "the verification code is wrong or expired", true);
    if (!scope_.store.consume_totp_step(who->id, *step)) {
      return fail("web-totp", "replayed TOTP code", "this verification code was already used; wait for the next one",
                  true);
    }
    SignedIn done{*who, authz::new_web_token()};
    db::Database::Transaction tx(*scope_.db);
    web.open_session(who->id, authz::token_hash(done.token), a_.source, now_);
    if (auto st = record(true, "web-totp", "second factor, TOTP", false); !st) return st.error();
    tx.commit();
    return done;
  }

 private:
  Error fail(const std::string& method, const std::string& reason, const std::string& shown, bool account_owned,
             bool unknown = false) {
    gateway::note_failure_recorded(scope_.db, sinks_, policy_, a_.address, account_owned ? a_.account : "", now_);
    if (auto st = record(false, method, reason, unknown); !st) return st.error();
    return Error{shown};
  }

  Status record(bool success, const std::string& method, const std::string& reason, bool unknown) {
    constexpr std::size_t kShownNameBytes = 128;  // the name was typed by a stranger
    audit::Event ev{now_, success ? "auth.success" : "auth.failure",
                    escape_unprintable(std::string_view(a_.account).substr(0, kShownNameBytes)), a_.source,
                    "", {}, {}};
    ev.details = {{"method", method}, {"reason", reason}, {"invalid_user", unknown}, {"front", "web"}};
    return scope_.events->append(ev);
  }

  RequestScope& scope_;
  const SignInAttempt& a_;
  Seconds now_;
  const authz::BanPolicy& policy_;
  const audit::EventSinks& sinks_;
};

std::string link_refusal(authz::LoginLinkState state) {
  constexpr const char* kAgain = "; run `ssh YOUR-ACCOUNT@bastion web-login` for a new one";
  switch (state) {
    case authz::LoginLinkState::Used: return std::string("this sign-in link was already used: each link signs in once") + kAgain;
    case authz::LoginLinkState::Expired: return std::string("this sign-in link has expired: a link lasts 2 minutes") + kAgain;
    case authz::LoginLinkState::Unknown: return std::string("this sign-in link is not valid (mistyped or never issued)") + kAgain;
    case authz::LoginLinkState::Usable: break;
  }
  return "";
}

const char* link_reason(authz::LoginLinkState state) {
  switch (state) {
    case authz::LoginLinkState::Used: return "sign-in link already used";
    case authz::LoginLinkState::Expired: return "sign-in link expired";
    case authz::LoginLinkState::Unknown: return "unknown sign-in link";
    case authz::LoginLinkState::Usable: break;
  }
  return "";
}

// LinkAttempt: a sign-in with a web-login link; failures as Attempt's, against the source only.
class LinkAttempt {
 public:
  LinkAttempt(RequestScope& scope, const std::string& token, const SignInAttempt& where, const Clock& clock,
              const authz::BanPolicy& policy, const audit::EventSinks& sinks)
      : scope_(scope), hash_(authz::token_hash(token)), where_(where), now_(clock.now()), policy_(policy), sinks_(sinks) {}

  Result<SignedIn> run() {
    authz::WebAccountStore web(scope_.db);
    const auto peek = web.login_link(hash_, now_);
    authz::SqliteBanStore bans(scope_.db);
    if (auto why = gateway::check_bans(bans, where_.address, peek.operator_name, now_)) return Error{*why};
    if (peek.state != authz::LoginLinkState::Usable) return fail(peek);
    const auto who = scope_.store.find_operator(peek.operator_name);
    if (!who || who->disabled) return fail(peek, "account disabled", "account " + peek.operator_name + " is disabled; contact your security officer");
    if (who->role == authz::Role::Operator)
      return fail(peek, "operators have no portal access", "the web portal is for client reviewers and security officers");
    SignedIn done{*who, authz::new_web_token()};
    authz::LoginLink used;
    {
      db::Database::Transaction tx(*scope_.db);
      used = web.use_login_link(hash_, now_);
      if (used.state == authz::LoginLinkState::Usable) {
        web.open_session(who->id, authz::token_hash(done.token), where_.source, now_);
        if (auto st = record(true, who->name, "one-time link from ssh web-login"); !st) return st.error();
        tx.commit();
        return done;
      }
    }
    return fail(used);  // another request used it between the look and the use
  }

 private:
  Error fail(const authz::LoginLink& link, const std::string& reason = "", const std::string& shown = "") {
    gateway::note_failure_recorded(scope_.db, sinks_, policy_, where_.address, "", now_);
    if (auto st = record(false, link.operator_name, reason.empty() ? link_reason(link.state) : reason); !st) return st.error();
    return Error{shown.empty() ? link_refusal(link.state) : shown};
  }

  Status record(bool success, const std::string& account, const std::string& reason) {
    audit::Event ev{now_, success ? "auth.success" : "auth.failure", account, where_.source, "", {}, {}};
    ev.details = {{"method", "web-login-link"}, {"reason", reason}, {"invalid_user", account.empty()}, {"front", "web"}};
    return scope_.events->append(ev);
  }

  RequestScope& scope_;
  std::string hash_;
  const SignInAttempt& where_;
  Seconds now_;
  const authz::BanPolicy& policy_;
  const audit::EventSinks& sinks_;
};

}  // namespace

Result<SignedIn> sign_in_with_link(RequestScope& scope, const std::string& token, const SignInAttempt& where,
                                   const Clock& clock, const authz::BanPolicy& policy, const audit::EventSinks& sinks) {
  return LinkAttempt(scope, token, where, clock, policy, sinks).run();
}

std::optional<std::string> link_problem(RequestScope& scope, const std::string& token, const Clock& clock) {
  const auto link = authz::WebAccountStore(scope.db).login_link(authz::token_hash(token), clock.now());
  if (link.state == authz::LoginLinkState::Usable) return std::nullopt;
  return link_refusal(link.state);
}

Result<SignedIn> sign_in(RequestScope& scope, const SignInAttempt& a, const Clock& clock,
                         const authz::BanPolicy& policy, const audit::EventSinks& sinks) {
  return Attempt(scope, a, clock, policy, sinks).run();
}

}  // namespace bastion::web
