#pragma once
// BanStore: failed authentications and bans, shared by the listener and every session process
// through the database. SQLite is authz/sqlite_ban_store.h.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz/bans.h"

namespace bastion::authz {

class BanStore {
 public:
  virtual ~BanStore() = default;
  // record_failure notes one failed authentication from `source` (a source subject: an IPv4
  // address or an IPv6 /64, authz/ban_subject.h) on `account` (the account name as sent; empty if
  // none was parsed).
  virtual void record_failure(std::string_view source, std::string_view account, Seconds at) = 0;
  // prune_failures forgets failures older than `before` (they can no longer count).
  virtual void prune_failures(Seconds before) = 0;
  // count_failures counts failures of that source or account at or after `since`.
  virtual int count_failures(BanKind kind, std::string_view subject, Seconds since) = 0;
  // latest_ban is the most recently placed ban of that subject, in any state.
  virtual std::optional<Ban> latest_ban(BanKind kind, std::string_view subject) = 0;
  // active_ban is a ban of that subject in force at `now`, the one lasting longest.
  virtual std::optional<Ban> active_ban(BanKind kind, std::string_view subject, Seconds now) = 0;
  virtual Ban add_ban(const NewBan& b) = 0;
  // lift ends, at `at`, every ban of `subject` (source or account) in force; returns them lifted.
  virtual std::vector<Ban> lift(std::string_view subject, std::string_view by, Seconds at) = 0;
  // list returns the bans in force at `now`, or with all=true every ban ever placed; newest first.
  virtual std::vector<Ban> list(Seconds now, bool all) = 0;
  // banned_sources: the source subjects banned at `now` (the listener's cache).
  virtual std::vector<std::string> banned_sources(Seconds now) = 0;
  // unrecorded_expiries: the bans that ran out by `now` (not lifted) whose expiry has no audit
  // event yet, oldest first; mark_expiry_recorded notes that ban `id`'s now has one.
  virtual std::vector<Ban> unrecorded_expiries(Seconds now) = 0;
  virtual void mark_expiry_recorded(std::int64_t id) = 0;
};
using BanStorePtr = std::unique_ptr<BanStore>;

// note_failure records one failure and places the bans it calls for (source, account or both)
// under `policy`; returns the bans placed. `source` is the peer address as accepted: it counts
// under its source_subject (an IPv6 address as its /64). The caller runs it in one transaction
// with the audit events of those bans. Failures older than a day are pruned on the way.
std::vector<Ban> note_failure(BanStore& store, const BanPolicy& policy, std::string_view source,
                              std::string_view account, Seconds now);

}  // namespace bastion::authz
