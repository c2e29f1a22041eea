#include "audit/sql_checkpoint_store.h"

namespace bastion::audit {
namespace {

constexpr std::string_view kColumns = "seq, event_id, event_hash, at, node, key, signature";

Checkpoint read_row(const db::Statement& q) {
  return {q.col_int(0), q.col_int(1), q.col_text(2), from_unix(q.col_int(3)), q.col_text(4), q.col_text(5),
          q.col_text(6)};
}

}  // namespace

ChainHead SqlCheckpointStore::chain_head() {
  auto head = db_.prepare("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1");
  if (!head.step()) return {};
  return {head.col_int(0), head.col_text(1)};
}

std::optional<std::string> SqlCheckpointStore::event_hash(std::int64_t id) {
  auto q = db_.prepare("SELECT hash FROM events WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return q.col_text(0);
}

std::int64_t SqlCheckpointStore::last_seq() {
  auto last = db_.prepare("SELECT COALESCE(MAX(seq), 0) FROM checkpoints");
  last.step();
  return last.col_int(0);
}

void SqlCheckpointStore::add(const Checkpoint& c) {
  auto q = db_.prepare("INSERT INTO checkpoints (" + std::string(kColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, c.seq).bind(2, c.event_id).bind(3, c.event_hash).bind(4, std::int64_t{to_unix(c.at)});
  q.bind(5, c.node).bind(6, c.key).bind(7, c.signature);
  q.step();
}

void SqlCheckpointStore::mark_emitted(std::int64_t seq, Seconds at) {
  auto q = db_.prepare("UPDATE checkpoints SET emitted_at = ? WHERE seq = ?");
  q.bind(1, std::int64_t{to_unix(at)}).bind(2, seq);
  q.step();
}

std::vector<Checkpoint> SqlCheckpointStore::read(std::string_view where_and_order) {
  auto q = db_.prepare("SELECT " + std::string(kColumns) + " FROM checkpoints " + std::string(where_and_order));
  std::vector<Checkpoint> out;
  while (q.step()) out.push_back(read_row(q));
  return out;
}

std::vector<Checkpoint> SqlCheckpointStore::unemitted() { return read("WHERE emitted_at IS NULL ORDER BY seq"); }

bool SqlCheckpointStore::any_unemitted() {
  auto q = db_.prepare("SELECT 1 FROM checkpoints WHERE emitted_at IS NULL LIMIT 1");
  return q.step();
}

std::optional<Checkpoint> SqlCheckpointStore::newest() {
  auto newest = read("ORDER BY seq DESC LIMIT 1");
  if (newest.empty()) return std::nullopt;
  return newest.front();
}

std::vector<Checkpoint> SqlCheckpointStore::all() { return read("ORDER BY seq"); }

}  // namespace bastion::audit
