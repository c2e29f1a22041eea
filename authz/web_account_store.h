#pragma once
// WebAccountStore: the web portal's rows (migrations 12 and 14): reviewer passwords, one-time enrolment
// links and portal sessions. Tokens are stored as their SHA-256 (authz/web_password.h token_hash);
// every method takes the hash, never the token. Methods throw db::DbError if the database fails.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authz/clock.h"
#include "authz/db.h"

namespace bastion::authz {

struct WebSessionRow {
  std::int64_t id = 0;
  std::int64_t operator_id = 0;
  std::string operator_name;
  std::string source;
  Seconds created{};
  Seconds last_seen{};
  bool ended = false;
};

// LoginLinkState: what a one-time sign-in link (`web-login`) is worth at a given moment.
enum class LoginLinkState { Usable, Used, Expired, Unknown };

struct LoginLink {
  LoginLinkState state = LoginLinkState::Unknown;
  std::int64_t operator_id = 0;  // whose link it is (0 when Unknown)
  std::string operator_name;
};

class WebAccountStore {
 public:
  explicit WebAccountStore(db::DatabasePtr db) : db_(std::move(db)) {}

  // set_password replaces the operator's password hash.
  void set_password(std::int64_t operator_id, std::string_view hash, Seconds at);
  // password_hash: the stored argon2id string, if the operator has a web password.
  std::optional<std::string> password_hash(std::int64_t operator_id);

  // add_enrolment stores a link for the operator, usable once until expires.
  void add_enrolment(std::int64_t operator_id, std::string_view token_hash, Seconds now, Seconds expires);
  // enrolment_operator: the operator of an unused, unexpired link, or nothing.
  std::optional<std::int64_t> enrolment_operator(std::string_view token_hash, Seconds now);
  // use_enrolment marks the link used; false if it was unused-and-unexpired no longer (a second
  // use, a race): the caller then sets nothing.
  bool use_enrolment(std::string_view token_hash, Seconds now);

  // add_login_link stores a sign-in link for the operator, usable once until expires.
  void add_login_link(std::int64_t operator_id, std::string_view token_hash, Seconds now, Seconds expires);
  // login_link: the state of the link with that hash at `now`, without using it.
  LoginLink login_link(std::string_view token_hash, Seconds now);
  // use_login_link marks the link used and returns its state BEFORE this use: Usable means this
  // call, and no other, used it (the single UPDATE is the race's referee); Used, Expired or
  // Unknown mean nothing changed.
  LoginLink use_login_link(std::string_view token_hash, Seconds now);

  // open_session stores a new portal session; returns its id.
  std::int64_t open_session(std::int64_t operator_id, std::string_view token_hash, std::string_view source, Seconds now);
  // find_session: the session with that token hash, ended or not.
  std::optional<WebSessionRow> find_session(std::string_view token_hash);
  void touch_session(std::int64_t id, Seconds now);
  void end_session(std::int64_t id, Seconds now);

 private:
  db::DatabasePtr db_;
};

}  // namespace bastion::authz
