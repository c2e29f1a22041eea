#pragma once
// Brute-force protection in the daemon: the AuthGuard that session processes consult and feed,
// and the listener's cache of banned sources. The daemon's guard and the cache open the database
// for each use and close it again, so no SQLite connection is ever inherited across fork(); a
// connection's monitor uses a copy bound to the connection it already holds (DatabaseBanGuard::on).
#include <chrono>
#include <optional>
#include <string>
#include <unordered_set>

#include "audit/event_sinks.h"
#include "authz/ban_store.h"
#include "authz/clock.h"
#include "authz/db.h"
#include "gateway/auth.h"

namespace bastion::gateway {

// DatabaseBanGuard counts failures and places bans in the shared database; each ban it places is
// an audit event (ban.source, ban.account) written in the same transaction. Sources count under
// their ban subject (an IPv6 address as its /64, authz/ban_subject.h). Before it answers
// refusal(), the bans that ran out since are written to the audit trail (ban.expired), so each
// ban's end is on record the first time anyone authenticates after it.
class DatabaseBanGuard final : public AuthGuard {
 public:
  DatabaseBanGuard(std::string db_path, audit::EventSinks sinks, authz::BanPolicy policy, const Clock& clock)
      : db_path_(std::move(db_path)), sinks_(std::move(sinks)), policy_(policy), clock_(clock) {}

  std::optional<std::string> refusal(std::string_view source, std::string_view account) override;
  void failed(std::string_view source, std::string_view account) override;
  // source_ban: the ban of `source` in force now, if any; nothing also when the database cannot
  // be read (authentication then refuses anyway, with that reason).
  std::optional<authz::Ban> source_ban(std::string_view source);
  // on: the same guard, working on `db` (an open connection of this process) instead of opening
  // one for each call. A connection's monitor holds its own connection already: a second one per
  // check would parse the whole schema again, in memory that every connection then keeps.
  DatabaseBanGuard on(db::DatabasePtr db) const;

 private:
  // database: the bound connection, or a newly opened one (an Error when it cannot be opened).
  Result<db::DatabasePtr> database() const;

  std::string db_path_;
  db::DatabasePtr bound_;
  audit::EventSinks sinks_;
  authz::BanPolicy policy_;
  const Clock& clock_;
};

// check_bans answers refusal() over an open database (what DatabaseBanGuard does per call).
std::optional<std::string> check_bans(authz::BanStore& bans, std::string_view source, std::string_view account,
                                      Seconds now);
// note_failure_recorded: note_failure plus one audit event per ban placed, in one transaction on
// `db`. Returns the bans placed. Throws db::DbError (then nothing was written).
std::vector<authz::Ban> note_failure_recorded(const db::DatabasePtr& db, const audit::EventSinks& sinks,
                                              const authz::BanPolicy& policy, std::string_view source,
                                              std::string_view account, Seconds now);

// record_expiries writes one ban.expired audit event per ban that ran out by `now` without one,
// in one transaction on `db`; returns those bans. Throws db::DbError (then nothing was written).
std::vector<authz::Ban> record_expiries(const db::DatabasePtr& db, const audit::EventSinks& sinks, Seconds now);

// SourceBanCache: the listener's view of banned sources (by ban subject), re-read from the
// database at most once a second (one indexed query), so that a flood of connections costs no
// database work.
class SourceBanCache {
 public:
  SourceBanCache(std::string db_path, const Clock& clock) : db_path_(std::move(db_path)), clock_(clock) {}
  // banned: whether `address` (its ban subject) was banned at the last refresh; refreshes first
  // if that is over a second old. If the database cannot be read, the previous answer stands (the session process
  // checks again and fails closed).
  bool banned(const std::string& address);
  void refresh();

 private:
  std::string db_path_;
  const Clock& clock_;
  std::unordered_set<std::string> banned_;
  std::chrono::steady_clock::time_point refreshed_{};
};

}  // namespace bastion::gateway
