#include "authz/web_account_store.h"

namespace bastion::authz {
namespace {

std::int64_t secs(Seconds t) { return t.time_since_epoch().count(); }
Seconds at(std::int64_t v) { return Seconds{std::chrono::seconds{v}}; }

}  // namespace

void WebAccountStore::set_password(std::int64_t operator_id, std::string_view hash, Seconds now) {
  db_->prepare(
         "INSERT INTO web_passwords (operator_id, hash, set_at) VALUES (?, ?, ?) "
         "ON CONFLICT (operator_id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at")
      .bind(1, operator_id)
      .bind(2, hash)
      .bind(3, secs(now))
      .step();
}

std::optional<std::string> WebAccountStore::password_hash(std::int64_t operator_id) {
  auto q = db_->prepare("SELECT hash FROM web_passwords WHERE operator_id = ?");
  q.bind(1, operator_id);
  if (!q.step()) return std::nullopt;
  return q.col_text(0);
}

void WebAccountStore::add_enrolment(std::int64_t operator_id, std::string_view token_hash, Seconds now,
                                    Seconds expires) {
  db_->prepare("INSERT INTO web_enrolments (operator_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .bind(1, operator_id)
      .bind(2, token_hash)
      .bind(3, secs(now))
      .bind(4, secs(expires))
      .step();
}

std::optional<std::int64_t> WebAccountStore::enrolment_operator(std::string_view token_hash, Seconds now) {
  auto q = db_->prepare(
      "SELECT operator_id FROM web_enrolments WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?");
  q.bind(1, token_hash).bind(2, secs(now));
  if (!q.step()) return std::nullopt;
  return q.col_int(0);
}

bool WebAccountStore::use_enrolment(std::string_view token_hash, Seconds now) {
  db_->prepare("UPDATE web_enrolments SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1")
      .bind(1, secs(now))
      .bind(2, token_hash)
      .step();
  return db_->changes() == 1;
}

void WebAccountStore::add_login_link(std::int64_t operator_id, std::string_view token_hash, Seconds now,
                                     Seconds expires) {
  db_->prepare("INSERT INTO web_login_links (operator_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .bind(1, operator_id)
      .bind(2, token_hash)
      .bind(3, secs(now))
      .bind(4, secs(expires))
      .step();
}

LoginLink WebAccountStore::login_link(std::string_view token_hash, Seconds now) {
  auto q = db_->prepare(
      "SELECT l.operator_id, o.name, l.expires_at, l.used_at IS NOT NULL FROM web_login_links l "
      "JOIN operators o ON o.id = l.operator_id WHERE l.token_hash = ?");
  q.bind(1, token_hash);
  if (!q.step()) return {};
  LoginLink link{LoginLinkState::Usable, q.col_int(0), q.col_text(1)};
  if (q.col_int(3) != 0) link.state = LoginLinkState::Used;
  else if (q.col_int(2) <= secs(now)) link.state = LoginLinkState::Expired;
  return link;
}

LoginLink WebAccountStore::use_login_link(std::string_view token_hash, Seconds now) {
  db_->prepare("UPDATE web_login_links SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1")
      .bind(1, secs(now))
      .bind(2, token_hash)
      .step();
  if (db_->changes() == 1) {
    auto link = login_link(token_hash, now);  // now Used: it is this call's use
    link.state = LoginLinkState::Usable;
    return link;
  }
  return login_link(token_hash, now);  // used, expired or unknown: a used_at is never cleared
}

std::int64_t WebAccountStore::open_session(std::int64_t operator_id, std::string_view token_hash,
                                           std::string_view source, Seconds now) {
  return db_->prepare(
         "INSERT INTO web_sessions (operator_id, token_hash, source, created_at, last_seen) VALUES (?, ?, ?, ?, ?) "
         "RETURNING id")
      .bind(1, operator_id)
      .bind(2, token_hash)
      .bind(3, source)
      .bind(4, secs(now))
      .bind(5, secs(now))
      .returned_id();
}

std::optional<WebSessionRow> WebAccountStore::find_session(std::string_view token_hash) {
  auto q = db_->prepare(
      "SELECT w.id, w.operator_id, o.name, w.source, w.created_at, w.last_seen, w.ended_at IS NOT NULL "
      "FROM web_sessions w JOIN operators o ON o.id = w.operator_id WHERE w.token_hash = ?");
  q.bind(1, token_hash);
  if (!q.step()) return std::nullopt;
  return WebSessionRow{q.col_int(0), q.col_int(1), q.col_text(2), q.col_text(3), at(q.col_int(4)), at(q.col_int(5)),
                       q.col_int(6) != 0};
}

void WebAccountStore::touch_session(std::int64_t id, Seconds now) {
  db_->prepare("UPDATE web_sessions SET last_seen = ? WHERE id = ? AND ended_at IS NULL").bind(1, secs(now)).bind(2, id).step();
}

void WebAccountStore::end_session(std::int64_t id, Seconds now) {
  db_->prepare("UPDATE web_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL").bind(1, secs(now)).bind(2, id).step();
}

}  // namespace bastion::authz
