#pragma once
// CheckpointStore: the rows of `checkpoints` (audit/checkpoint.h says what a signed checkpoint is)
// and the head of the event chain they sign. The SQL is audit/sql_checkpoint_store.cc's, on SQLite
// and PostgreSQL alike. Every method throws db::DbError when the database cannot be read or written.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"

namespace bastion::audit {

// ChainHead: the newest event of the chain (id 0 and no hash when there is none).
struct ChainHead {
  std::int64_t id = 0;
  std::string hash;
};

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual ChainHead chain_head() = 0;
  // event_hash: the stored hash of event id, if it exists.
  virtual std::optional<std::string> event_hash(std::int64_t id) = 0;
  // last_seq: the highest checkpoint number written, 0 if none.
  virtual std::int64_t last_seq() = 0;
  virtual void add(const Checkpoint& c) = 0;
  virtual void mark_emitted(std::int64_t seq, Seconds at) = 0;
  // unemitted: the checkpoints no sink has received yet, by number.
  virtual std::vector<Checkpoint> unemitted() = 0;
  virtual bool any_unemitted() = 0;
  virtual std::optional<Checkpoint> newest() = 0;
  // all: every checkpoint, by number.
  virtual std::vector<Checkpoint> all() = 0;
};
using CheckpointStorePtr = std::unique_ptr<CheckpointStore>;

}  // namespace bastion::audit
