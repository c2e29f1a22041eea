#include "gateway/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>

#include "authz/text.h"
#include "authz/totp.h"
#include "gateway/keys.h"

namespace bastion::gateway {
namespace {

// Banner text reaches OpenSSH's stderr during authentication: the only way to tell a person why
// a factor was refused before the session exists.
void send_banner(ssh_session session, const std::string& text) {
  ssh_string s = ssh_string_from_char((text + "\r\n").c_str());
  if (s == nullptr) return;
  ssh_send_issue_banner(session, s);
  ssh_string_free(s);
}

// source_address: the peer address of the session's socket, as the listener saw it at accept().
std::string source_address(ssh_session session) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(ssh_get_fd(session), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  else if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  return buf;
}

class TwoFactorAuth {
 public:
  TwoFactorAuth(ssh_session session, authz::Store* store, const Clock& clock, const AuthSettings& settings,
                const AuthEventSink& on_event)
      : session_(session), store_(store), clock_(clock), settings_(settings), on_event_(on_event),
        source_(source_address(session)) {}

  Result<Authenticated> run() {
    ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
    while (failures_ < settings_.max_attempts) {
      MessagePtr msg(ssh_message_get(session_));
      if (!msg) return Error{"client went away during authentication"};
      bool done = handle(msg.get());
      if (unrecorded_) {
        send_banner(session_, "bastion: the audit log cannot be written; nobody can log in until it is repaired");
        return *unrecorded_;
      }
      if (refused_) return *refused_;
      if (done) {
        if (settings_.on_authenticated) settings_.on_authenticated();
        return std::move(*done_);
      }
    }
    send_banner(session_, "bastion: too many failed authentication attempts; disconnecting");
    return Error{"too many failed authentication attempts"};
  }

 private:
  // handle answers one message; true once both factors succeeded.
  bool handle(ssh_message msg) {
    int type = ssh_message_type(msg);
    if (type == SSH_REQUEST_SERVICE) {
      ssh_message_service_reply_success(msg);
      return false;
    }
    if (type != SSH_REQUEST_AUTH) {
      ssh_message_reply_default(msg);
      return false;
    }
    if (!bind_user(ssh_message_auth_user(msg))) {
      fail(msg, "none", user_error_);
      return false;
    }
    switch (ssh_message_subtype(msg)) {
      case SSH_AUTH_METHOD_PUBLICKEY: return on_publickey(msg);
      case SSH_AUTH_METHOD_INTERACTIVE: return on_kbdint(msg);
      default:
        ssh_message_reply_default(msg);  // lists the methods still allowed; not counted as a failure
        return false;
    }
  }

  // bind_user fixes the user name on the first request; a client switching names is refused.
  // A keyboard-interactive response carries no user name: it continues the bound one.
  bool bind_user(const char* raw) {
    std::string user = raw ? raw : "";
    if (!user_.empty()) return (user.empty() || user == user_) && spec_.has_value() && who_.has_value();
    user_ = user;
    auto spec = parse_user(user);
    if (!spec) {
      user_error_ = spec.error().message;
      send_banner(session_, "bastion: " + user_error_);
      return false;
    }
    spec_ = *spec;
    if (settings_.guard != nullptr) {
      if (auto why = settings_.guard->refusal(source_, spec_->operator_name)) {
        user_error_ = *why;
        refused_ = Error{*why};
        send_banner(session_, "bastion: " + *why);
        return false;
      }
    }
    if (store_ == nullptr) {
      user_error_ = "the bastion database is unavailable; nobody can log in until it is repaired";
      send_banner(session_, "bastion: " + user_error_);
      return false;
    }
    who_ = store_->find_operator(spec_->operator_name);
    if (!who_) user_error_ = "unknown account '" + spec_->operator_name + "'";
    // An unknown account is not told apart from a wrong key (no account enumeration).
    return who_.has_value();
  }

  bool on_publickey(ssh_message msg) {
    if (key_ok_) {
      ssh_message_reply_default(msg);
      return false;
    }
    auto [offered, state] = offered_key(msg);
    std::string fp = offered ? fingerprint(offered) : "";
    if (!offered || !is_registered(offered)) {
      fail(msg, "publickey", "key " + fp + " is not registered for " + user_);
      return false;
    }
    if (state == SSH_PUBLICKEY_STATE_NONE) {  // a query: "would you accept this key?"
      ssh_message_auth_reply_pk_ok_simple(msg);
      return false;
    }
    if (state != SSH_PUBLICKEY_STATE_VALID) {
      fail(msg, "publickey", "bad signature for key " + fp);
      return false;
    }
    if (who_->disabled) {
      send_banner(session_, "bastion: account " + who_->name + " is disabled; contact your security officer");
      fail(msg, "publickey", "account disabled");
      return false;
    }
    if (!record({true, user_, "publickey", "first factor, key " + fp})) {
      ssh_message_reply_default(msg);
      return false;
    }
    key_ok_ = true;
    fingerprint_ = fp;
    ssh_set_auth_methods(session_, SSH_AUTH_METHOD_INTERACTIVE);
    ssh_message_auth_reply_success(msg, 1);  // partial: the TOTP factor is still owed
    return false;
  }

  // offered_key: the key of a publickey request and whether it was signed. libssh 0.10 marks these
  // message accessors deprecated in favour of auth callbacks, which cannot be combined with the
  // keyboard-interactive message flow used here; they are the supported way for this flow.
  static std::pair<ssh_key, enum ssh_publickey_state_e> offered_key(ssh_message msg) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    return {ssh_message_auth_pubkey(msg), ssh_message_auth_publickey_state(msg)};
#pragma GCC diagnostic pop
  }

  bool is_registered(ssh_key offered) {
    auto line = public_key_line(offered);
    if (!line) return false;
    for (const auto& k : store_->keys_of(who_->id)) {
      if (k.type + " " + k.base64 == *line) return true;
    }
    return false;
  }

  bool on_kbdint(ssh_message msg) {
    if (!key_ok_) {
      fail(msg, "keyboard-interactive", "a registered key must be presented first");
      return false;
    }
    if (!ssh_message_auth_kbdint_is_response(msg)) {
      const char* prompts[] = {"Verification code: "};
      char echo[] = {0};
      ssh_message_auth_interactive_request(msg, "Bastion two-factor authentication",
                                           "Enter the 6-digit code from your authenticator app.", 1, prompts, echo);
      return false;
    }
    std::string code;
    if (ssh_userauth_kbdint_getnanswers(session_) == 1) {
      const char* answer = ssh_userauth_kbdint_getanswer(session_, 0);
      code = answer ? answer : "";
    }
    auto step = authz::totp_match(who_->totp_secret, code, clock_.now());
    if (!step) {
      send_banner(session_, "bastion: verification code is wrong or expired");
      fail(msg, "keyboard-interactive", "wrong TOTP code");
      return false;
    }
    if (!store_->consume_totp_step(who_->id, *step)) {
      send_banner(session_, "bastion: this verification code was already used; wait for the next one");
      fail(msg, "keyboard-interactive", "replayed TOTP code");
      return false;
    }
    if (!record({true, user_, "keyboard-interactive", "second factor, TOTP"})) {
      ssh_message_reply_default(msg);
      return false;
    }
    ssh_message_auth_reply_success(msg, 0);
    done_ = Authenticated{*who_, *spec_, fingerprint_};
    return true;
  }

  // fail counts a failure against the source always, and against the account only once the peer
  // has proved it holds one of the account's registered keys (key_ok_): a stranger who knows a
  // name, or offers unregistered or unsigned keys, must not be able to lock its owner out; the
  // source ban covers that guessing.
  void fail(ssh_message msg, const std::string& method, const std::string& reason) {
    ++failures_;
    record({false, user_, method, reason, !who_.has_value()});
    const bool account_owned = key_ok_ && spec_.has_value();
    if (settings_.guard != nullptr) settings_.guard->failed(source_, account_owned ? spec_->operator_name : "");
    ssh_message_reply_default(msg);
  }

  // record reports an event with the user name as sent made safe for the trail: a stranger chose
  // those bytes before authenticating, so they are escaped and cut to kShownUserBytes.
  bool record(AuthEvent e) {
    constexpr std::size_t kShownUserBytes = 128;
    const bool cut = e.user.size() > kShownUserBytes;
    e.user = escape_unprintable(std::string_view(e.user).substr(0, kShownUserBytes)) + (cut ? "…" : "");
    auto st = on_event_(e);
    if (!st && !unrecorded_) unrecorded_ = st.error();
    return st.ok();
  }

  ssh_session session_;
  authz::Store* store_;
  const Clock& clock_;
  const AuthSettings& settings_;
  const AuthEventSink& on_event_;
  std::string source_;
  std::optional<Error> unrecorded_;  // an auth event could not be written: we stop here
  std::optional<Error> refused_;     // a ban or lock is in force: we stop here
  std::string user_;
  std::string user_error_;
  std::optional<UserSpec> spec_;
  std::optional<authz::Operator> who_;
  bool key_ok_ = false;
  std::string fingerprint_;
  int failures_ = 0;
  std::optional<Authenticated> done_;
};

}  // namespace

Result<Authenticated> authenticate(ssh_session session, authz::Store* store, const Clock& clock,
                                   const AuthSettings& settings, const AuthEventSink& on_event) {
  return TwoFactorAuth(session, store, clock, settings, on_event).run();
}

}  // namespace bastion::gateway
