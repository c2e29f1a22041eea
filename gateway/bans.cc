#include "gateway/bans.h"

#include <spdlog/spdlog.h>

#include "audit/sqlite_event_log.h"
#include "authz/ban_subject.h"
#include "authz/decide.h"
#include "authz/sqlite_ban_store.h"

namespace bastion::gateway {

std::optional<std::string> check_bans(authz::BanStore& bans, std::string_view source, std::string_view account,
                                      Seconds now) {
  if (!source.empty()) {
    if (auto b = bans.active_ban(authz::BanKind::Source, authz::source_subject(source), now))
      return authz::refusal_text(*b);
  }
  if (!account.empty()) {
    if (auto b = bans.active_ban(authz::BanKind::Account, account, now)) return authz::refusal_text(*b);
  }
  return std::nullopt;
}

std::vector<authz::Ban> note_failure_recorded(const db::DatabasePtr& db, const audit::EventSinks& sinks,
                                              const authz::BanPolicy& policy, std::string_view source,
                                              std::string_view account, Seconds now) {
  authz::SqliteBanStore store(db);
  auto events = audit::open_event_log(db, sinks);
  db::Database::Transaction tx(*db);
  auto placed = authz::note_failure(store, policy, source, account, now);
  for (const auto& b : placed) {
    audit::Event ev{now, b.kind == authz::BanKind::Source ? "ban.source" : "ban.account", "bastiond",
                    std::string(source), "", std::nullopt, {}};
    ev.details = {{"ban", b.id},         {"subject", b.subject},           {"until", authz::format_utc(b.until)},
                  {"level", b.level},    {"reason", b.reason},             {"account", std::string(account)}};
    if (auto st = events->append(ev); !st) throw db::DbError("audit event " + ev.kind + ": " + st.error().message);
  }
  tx.commit();
  return placed;
}

std::vector<authz::Ban> record_expiries(const db::DatabasePtr& db, const audit::EventSinks& sinks, Seconds now) {
  authz::SqliteBanStore store(db);
  auto events = audit::open_event_log(db, sinks);
  db::Database::Transaction tx(*db);
  auto expired = store.unrecorded_expiries(now);
  for (const auto& b : expired) {
    audit::Event ev{now, "ban.expired", "bastiond", "", "", std::nullopt, {}};
    ev.details = {{"ban", b.id},     {"kind", authz::to_string(b.kind)}, {"subject", b.subject},
                  {"until", authz::format_utc(b.until)}, {"level", b.level}, {"reason", b.reason}};
    if (auto st = events->append(ev); !st) throw db::DbError("audit event " + ev.kind + ": " + st.error().message);
    store.mark_expiry_recorded(b.id);
  }
  tx.commit();
  return expired;
}

DatabaseBanGuard DatabaseBanGuard::on(db::DatabasePtr db) const {
  DatabaseBanGuard bound(*this);
  bound.bound_ = std::move(db);
  return bound;
}

Result<db::DatabasePtr> DatabaseBanGuard::database() const {
  if (bound_) return bound_;
  return db::Database::open(db_path_, false);
}

std::optional<std::string> DatabaseBanGuard::refusal(std::string_view source, std::string_view account) {
  try {
    auto db = database();
    if (!db) return "the bastion database is unavailable (" + db.error().message + "); nobody can log in until it is repaired";
    const Seconds now = clock_.now();
    // An expiry that cannot be recorded now is recorded by a later call; it never holds a login up.
    try {
      for (const auto& b : record_expiries(*db, sinks_, now))
        spdlog::info("{} {}: ban {} ran out at {}", authz::to_string(b.kind), b.subject, b.id, authz::format_utc(b.until));
    } catch (const db::DbError& e) {
      spdlog::error("the end of expired bans could not be recorded: {}", e.what());
    }
    authz::SqliteBanStore store(*db);
    return check_bans(store, source, account, now);
  } catch (const db::DbError& e) {
    return std::string("the bastion database cannot be read (") + e.what() + "); nobody can log in until it is repaired";
  }
}

std::optional<authz::Ban> DatabaseBanGuard::source_ban(std::string_view source) {
  try {
    auto db = database();
    if (!db) return std::nullopt;
    return authz::SqliteBanStore(*db).active_ban(authz::BanKind::Source, authz::source_subject(source), clock_.now());
  } catch (const db::DbError&) {
    return std::nullopt;
  }
}

void DatabaseBanGuard::failed(std::string_view source, std::string_view account) {
  try {
    auto db = database();
    if (!db) throw db::DbError(db.error().message);
    for (const auto& b : note_failure_recorded(*db, sinks_, policy_, source, account, clock_.now()))
      spdlog::warn("{} {} banned until {} (level {}): {}", authz::to_string(b.kind), b.subject,
                   authz::format_utc(b.until), b.level, b.reason);
  } catch (const db::DbError& e) {
    spdlog::error("failed authentication from {} on '{}' could not be counted: {}", source, account, e.what());
  }
}

bool SourceBanCache::banned(const std::string& address) {
  if (std::chrono::steady_clock::now() - refreshed_ >= std::chrono::seconds(1)) refresh();
  return banned_.count(authz::source_subject(address)) != 0;
}

void SourceBanCache::refresh() {
  refreshed_ = std::chrono::steady_clock::now();
  try {
    auto db = db::Database::open(db_path_, false);
    if (!db) throw db::DbError(db.error().message);
    authz::SqliteBanStore store(*db);
    auto sources = store.banned_sources(clock_.now());
    banned_ = std::unordered_set<std::string>(sources.begin(), sources.end());
  } catch (const db::DbError& e) {
    spdlog::error("cannot read the bans: {}", e.what());
  }
}

}  // namespace bastion::gateway
