#include "gateway/auth.h"

#include <optional>

#include "gateway/keys.h"
#include "gateway/monitor_client.h"

namespace bastion::gateway {
namespace {

using monitor::Type;

// Banner text reaches OpenSSH's stderr during authentication: the only way to tell a person why
// a factor was refused before the session exists.
void send_banner(ssh_session session, const std::string& text) {
  ssh_string s = ssh_string_from_char((text + "\r\n").c_str());
  if (s == nullptr) return;
  ssh_send_issue_banner(session, s);
  ssh_string_free(s);
}

// Answer: the monitor's verdict on one step, as this side needs it.
struct Answer {
  enum Kind { Ok, Refused, Stop } kind = Stop;
  std::string reason;
  monitor::Message message;  // the whole answer (an Account once both factors passed)
};

class TwoFactorAuth {
 public:
  TwoFactorAuth(ssh_session session, MonitorClient& monitor, const AuthSettings& settings)
      : session_(session), monitor_(monitor), settings_(settings) {}

  Result<Authenticated> run() {
    ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
    while (failures_ < settings_.max_attempts) {
      MessagePtr msg(ssh_message_get(session_));
      if (!msg) return Error{"client went away during authentication"};
      bool done = handle(msg.get());
      if (stop_) return *stop_;
      if (done) return std::move(*done_);
    }
    send_banner(session_, "bastion: too many failed authentication attempts; disconnecting");
    return Error{"too many failed authentication attempts"};
  }

 private:
  // ask puts one step to the monitor. A final refusal, or a monitor that is gone, ends the
  // authentication: the reason goes to the peer as a banner and in the disconnect message.
  Answer ask(const monitor::Message& request) {
    auto r = monitor_.ask(request);
    if (!r) {
      stop("the bastion cannot check this login now; try again", "monitor: " + r.error().message);
      return {};
    }
    const monitor::Message& m = r->message;
    if (m.type == Type::Verdict) {
      if (m.numbers[0] == monitor::kOk) return {Answer::Ok, "", m};
      if (m.numbers[0] == monitor::kRefused) return {Answer::Refused, m.strings[0], m};
      stop(m.strings[0], m.strings[0]);
      return {};
    }
    if (request.type == Type::TotpCheck && m.type == Type::Account) return {Answer::Ok, "", m};
    stop("the bastion cannot check this login now; try again",
         std::string("monitor answered ") + monitor::type_name(m.type) + " to " + monitor::type_name(request.type));
    return {};
  }

  void stop(const std::string& shown, const std::string& why) {
    if (stop_) return;
    send_banner(session_, "bastion: " + shown);
    ssh_session_set_disconnect_message(session_, ("bastion: " + shown).c_str());
    stop_ = Error{why};
  }

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
      if (!stop_) fail(msg, "none", user_error_);
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
    if (bound_) return (user.empty() || user == user_) && known_;
    bound_ = true;
    user_ = user;
    if (auto spec = parse_user(user); !spec) {
      user_error_ = spec.error().message;
      send_banner(session_, "bastion: " + user_error_);
      return false;
    } else {
      spec_ = *spec;
    }
    Answer a = ask(monitor::user_bind(user_));
    if (a.kind == Answer::Refused) user_error_ = a.reason;  // an unknown account: not told to the peer
    known_ = a.kind == Answer::Ok;
    return known_;
  }

  bool on_publickey(ssh_message msg) {
    if (key_ok_) {
      ssh_message_reply_default(msg);
      return false;
    }
    auto [offered, state] = offered_key(msg);
    auto line = offered != nullptr ? public_key_line(offered) : Result<std::string>(Error{"no key"});
    if (!line) {
      fail(msg, "publickey", "the offered key cannot be read");
      return false;
    }
    const std::string fp = fingerprint(offered);
    if (state != SSH_PUBLICKEY_STATE_NONE && state != SSH_PUBLICKEY_STATE_VALID) {
      fail(msg, "publickey", "bad signature for key " + fp);
      return false;
    }
    // The monitor checks the key is registered (and, once signed, records the first factor);
    // libssh here has checked the signature over this connection's session id.
    Answer a = ask(monitor::key_check(user_, *line, state == SSH_PUBLICKEY_STATE_VALID));
    if (stop_) return false;
    if (a.kind == Answer::Refused) {
      refused(msg, a.reason);
      return false;
    }
    if (state == SSH_PUBLICKEY_STATE_NONE) {  // a query: "would you accept this key?"
      ssh_message_auth_reply_pk_ok_simple(msg);
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
    Answer a = ask(monitor::totp_check(code));
    if (stop_) return false;
    if (a.kind == Answer::Refused) {
      refused(msg, a.reason);
      return false;
    }
    const monitor::Message& acct = a.message;
    auto role = authz::parse_role(acct.strings[1]);
    if (!role) {
      stop("the bastion cannot check this login now; try again", "monitor named an unknown role");
      return false;
    }
    ssh_message_auth_reply_success(msg, 0);
    authz::Operator who;
    who.id = static_cast<std::int64_t>(acct.numbers[0]);
    who.name = acct.strings[0];
    who.role = *role;
    who.client = acct.strings[2];
    done_ = Authenticated{std::move(who), *spec_, fingerprint_};
    return true;
  }

  // refused: the monitor refused a step and recorded it; `shown` (if any) is for the peer.
  void refused(ssh_message msg, const std::string& shown) {
    ++failures_;
    if (!shown.empty()) send_banner(session_, "bastion: " + shown);
    ssh_message_reply_default(msg);
  }

  // fail reports a failure only this side saw (the monitor records it and counts it for bans).
  void fail(ssh_message msg, const std::string& method, const std::string& reason) {
    ++failures_;
    (void)ask(monitor::auth_failure(user_, method, reason, !known_));
    ssh_message_reply_default(msg);
  }

  ssh_session session_;
  MonitorClient& monitor_;
  const AuthSettings& settings_;
  std::optional<Error> stop_;  // a final refusal, or the monitor is gone: we stop here
  bool bound_ = false;
  bool known_ = false;
  std::string user_;
  std::string user_error_;
  std::optional<UserSpec> spec_;
  bool key_ok_ = false;
  std::string fingerprint_;
  int failures_ = 0;
  std::optional<Authenticated> done_;
};

}  // namespace

Result<Authenticated> authenticate(ssh_session session, MonitorClient& monitor, const AuthSettings& settings) {
  return TwoFactorAuth(session, monitor, settings).run();
}

}  // namespace bastion::gateway
