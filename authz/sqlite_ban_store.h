#pragma once
// SqliteBanStore: the tables auth_failures and bans (authz/schema.cc, migration 5). Every query
// the listener makes per connection is answered from the index bans_by_subject.
#include "authz/ban_store.h"
#include "authz/db.h"

namespace bastion::authz {

class SqliteBanStore final : public BanStore {
 public:
  explicit SqliteBanStore(db::DatabasePtr db) : db_(std::move(db)) {}

  void record_failure(std::string_view source, std::string_view account, Seconds at) override;
  void prune_failures(Seconds before) override;
  int count_failures(BanKind kind, std::string_view subject, Seconds since) override;
  std::optional<Ban> latest_ban(BanKind kind, std::string_view subject) override;
  std::optional<Ban> active_ban(BanKind kind, std::string_view subject, Seconds now) override;
  Ban add_ban(const NewBan& b) override;
  std::vector<Ban> lift(std::string_view subject, std::string_view by, Seconds at) override;
  std::vector<Ban> list(Seconds now, bool all) override;
  std::vector<std::string> banned_sources(Seconds now) override;
  std::vector<Ban> unrecorded_expiries(Seconds now) override;
  void mark_expiry_recorded(std::int64_t id) override;

 private:
  db::DatabasePtr db_;
};

}  // namespace bastion::authz
