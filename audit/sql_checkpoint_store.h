#pragma once
// SqlCheckpointStore: CheckpointStore (audit/checkpoint_store.h) through db::Database. It borrows
// the database: whoever made it keeps the Database alive.
#include "audit/checkpoint_store.h"
#include "authz/db.h"

namespace bastion::audit {

class SqlCheckpointStore final : public CheckpointStore {
 public:
  explicit SqlCheckpointStore(db::Database& db) : db_(db) {}

  ChainHead chain_head() override;
  std::optional<std::string> event_hash(std::int64_t id) override;
  std::int64_t last_seq() override;
  void add(const Checkpoint& c) override;
  void mark_emitted(std::int64_t seq, Seconds at) override;
  std::vector<Checkpoint> unemitted() override;
  bool any_unemitted() override;
  std::optional<Checkpoint> newest() override;
  std::vector<Checkpoint> all() override;

 private:
  std::vector<Checkpoint> read(std::string_view where_and_order);
  db::Database& db_;
};

}  // namespace bastion::audit
