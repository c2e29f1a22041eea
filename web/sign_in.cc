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

}  // namespace

Result<SignedIn> sign_in(RequestScope& scope, const SignInAttempt& a, const Clock& clock,
                         const authz::BanPolicy& policy, const audit::EventSinks& sinks) {
  return Attempt(scope, a, clock, policy, sinks).run();
}

}  // namespace bastion::web
