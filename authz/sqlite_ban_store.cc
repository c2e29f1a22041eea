#include "authz/sqlite_ban_store.h"

namespace bastion::authz {
namespace {

constexpr std::string_view kBanColumns = "id, kind, subject, until, level, reason, created_at, lifted_by, lifted_at";

Ban ban_row(const db::Statement& s) {
  Ban b;
  b.id = s.col_int(0);
  b.kind = s.col_text(1) == "account" ? BanKind::Account : BanKind::Source;
  b.subject = s.col_text(2);
  b.until = from_unix(s.col_int(3));
  b.level = static_cast<int>(s.col_int(4));
  b.reason = s.col_text(5);
  b.created_at = from_unix(s.col_int(6));
  if (!s.col_null(7)) b.lifted_by = s.col_text(7);
  if (!s.col_null(8)) b.lifted_at = from_unix(s.col_int(8));
  return b;
}

std::string select_bans(std::string_view where) {
  return "SELECT " + std::string(kBanColumns) + " FROM bans " + std::string(where);
}

}  // namespace

void SqliteBanStore::record_failure(std::string_view source, std::string_view account, Seconds at) {
  auto s = db_->prepare("INSERT INTO auth_failures (source, account, at) VALUES (?, ?, ?)");
  s.bind(1, source).bind(2, account).bind(3, to_unix(at));
  s.step();
}

void SqliteBanStore::prune_failures(Seconds before) {
  auto s = db_->prepare("DELETE FROM auth_failures WHERE at < ?");
  s.bind(1, to_unix(before));
  s.step();
}

int SqliteBanStore::count_failures(BanKind kind, std::string_view subject, Seconds since) {
  auto s = db_->prepare(kind == BanKind::Source ? "SELECT count(*) FROM auth_failures WHERE source = ? AND at >= ?"
                                                : "SELECT count(*) FROM auth_failures WHERE account = ? AND at >= ?");
  s.bind(1, subject).bind(2, to_unix(since));
  s.step();
  return static_cast<int>(s.col_int(0));
}

std::optional<Ban> SqliteBanStore::latest_ban(BanKind kind, std::string_view subject) {
  auto s = db_->prepare(select_bans("WHERE kind = ? AND subject = ? ORDER BY created_at DESC, id DESC LIMIT 1"));
  s.bind(1, to_string(kind)).bind(2, subject);
  if (!s.step()) return std::nullopt;
  return ban_row(s);
}

std::optional<Ban> SqliteBanStore::active_ban(BanKind kind, std::string_view subject, Seconds now) {
  auto s = db_->prepare(select_bans(
      "WHERE kind = ? AND subject = ? AND until > ? AND lifted_at IS NULL ORDER BY until DESC LIMIT 1"));
  s.bind(1, to_string(kind)).bind(2, subject).bind(3, to_unix(now));
  if (!s.step()) return std::nullopt;
  return ban_row(s);
}

Ban SqliteBanStore::add_ban(const NewBan& b) {
  auto s = db_->prepare(
      "INSERT INTO bans (kind, subject, until, level, reason, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
  s.bind(1, to_string(b.kind)).bind(2, b.subject).bind(3, to_unix(b.until)).bind(4, std::int64_t{b.level});
  s.bind(5, b.reason).bind(6, to_unix(b.created_at));
  const std::int64_t id = s.returned_id();
  return Ban{id, b.kind, b.subject, b.until, b.level, b.reason, b.created_at, {}, {}};
}

std::vector<Ban> SqliteBanStore::lift(std::string_view subject, std::string_view by, Seconds at) {
  db::Database::Transaction tx(*db_);
  std::vector<Ban> lifted;
  {
    auto s = db_->prepare(select_bans("WHERE subject = ? AND until > ? AND lifted_at IS NULL ORDER BY id"));
    s.bind(1, subject).bind(2, to_unix(at));
    while (s.step()) lifted.push_back(ban_row(s));
  }
  auto u = db_->prepare("UPDATE bans SET lifted_by = ?, lifted_at = ? WHERE id = ?");
  for (auto& b : lifted) {
    u.bind(1, by).bind(2, to_unix(at)).bind(3, b.id);
    u.step();
    u.reset();
    b.lifted_by = std::string(by);
    b.lifted_at = at;
  }
  tx.commit();
  return lifted;
}

std::vector<Ban> SqliteBanStore::list(Seconds now, bool all) {
  auto s = db_->prepare(all ? select_bans("ORDER BY created_at DESC, id DESC")
                            : select_bans("WHERE until > ? AND lifted_at IS NULL ORDER BY created_at DESC, id DESC"));
  if (!all) s.bind(1, to_unix(now));
  std::vector<Ban> out;
  while (s.step()) out.push_back(ban_row(s));
  return out;
}

std::vector<std::string> SqliteBanStore::banned_sources(Seconds now) {
  auto s = db_->prepare("SELECT DISTINCT subject FROM bans WHERE kind = 'source' AND until > ? AND lifted_at IS NULL");
  s.bind(1, to_unix(now));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.col_text(0));
  return out;
}

std::vector<Ban> SqliteBanStore::unrecorded_expiries(Seconds now) {
  auto s = db_->prepare(
      select_bans("WHERE expiry_recorded = 0 AND lifted_at IS NULL AND until <= ? ORDER BY until, id"));
  s.bind(1, to_unix(now));
  std::vector<Ban> out;
  while (s.step()) out.push_back(ban_row(s));
  return out;
}

void SqliteBanStore::mark_expiry_recorded(std::int64_t id) {
  auto s = db_->prepare("UPDATE bans SET expiry_recorded = 1 WHERE id = ?");
  s.bind(1, id);
  s.step();
}

}  // namespace bastion::authz
