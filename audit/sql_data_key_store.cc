#include "audit/sql_data_key_store.h"

namespace bastion::audit {
namespace {

constexpr std::string_view kKeyColumns =
    "SELECT key_id, client, created_at, destroyed_at, destroyed_by, wrapped FROM client_data_keys";

ClientKeyInfo key_row(const db::Statement& q) {
  ClientKeyInfo k;
  k.key_id = q.col_text(0);
  k.client = q.col_text(1);
  k.created_at = from_unix(q.col_int(2));
  if (!q.col_null(3)) k.destroyed_at = from_unix(q.col_int(3));
  k.destroyed_by = q.col_null(4) ? "" : q.col_text(4);
  return k;
}

std::optional<ClientKeyInfo> find_where(db::Database& db, std::string_view column, const std::string& value) {
  auto q = db.prepare(std::string(kKeyColumns) + " WHERE " + std::string(column) + " = ?");
  q.bind(1, value);
  if (!q.step()) return std::nullopt;
  return key_row(q);
}

}  // namespace

std::vector<ClientKeyInfo> SqlDataKeyStore::list() {
  auto q = db_.prepare(std::string(kKeyColumns) + " ORDER BY client");
  std::vector<ClientKeyInfo> out;
  while (q.step()) out.push_back(key_row(q));
  return out;
}

std::optional<ClientKeyInfo> SqlDataKeyStore::find_by_client(const std::string& client) {
  return find_where(db_, "client", client);
}

std::optional<ClientKeyInfo> SqlDataKeyStore::find_by_id(const std::string& key_id) {
  return find_where(db_, "key_id", key_id);
}

std::optional<WrappedKey> SqlDataKeyStore::wrapped(const std::string& key_id) {
  auto q = db_.prepare(std::string(kKeyColumns) + " WHERE key_id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  return WrappedKey{key_row(q), q.col_null(5) ? "" : q.col_text(5)};
}

void SqlDataKeyStore::add(const ClientKeyInfo& key, const std::string& wrapped_hex) {
  auto q = db_.prepare("INSERT INTO client_data_keys (key_id, client, created_at, wrapped) VALUES (?, ?, ?, ?)");
  q.bind(1, key.key_id).bind(2, key.client).bind(3, static_cast<std::int64_t>(to_unix(key.created_at)));
  q.bind(4, wrapped_hex);
  q.step();
}

void SqlDataKeyStore::erase_wrapped(const std::string& key_id, Seconds at, const std::string& by) {
  // SQLite: the wrapped key's bytes must leave the file, not just the row: with secure_delete,
  // freed and rewritten content is overwritten with zeros. PostgreSQL has no such setting: an
  // UPDATE leaves the old row version in place until VACUUM (scrub).
  if (!db_.is_postgres()) db_.exec("PRAGMA secure_delete = ON");
  auto q = db_.prepare("UPDATE client_data_keys SET wrapped = NULL, destroyed_at = ?, destroyed_by = ? WHERE key_id = ?");
  q.bind(1, static_cast<std::int64_t>(to_unix(at))).bind(2, by).bind(3, key_id);
  q.step();
}

bool SqlDataKeyStore::scrub() {
  try {
    if (db_.is_postgres()) {
      // VACUUM FULL writes the table anew and drops its old files (a plain VACUUM only marks the
      // space of dead row versions free, their bytes stay). But it copies a dead version that some
      // snapshot may still see: a transaction whose snapshot predates the newest destruction (its
      // xmin, or its own xid, no newer than the xid that wrote the destroyed row), a replication
      // slot's, a prepared transaction's. Those are counted first: once there are none, no later
      // snapshot can see the old version, and the rewrite leaves it behind. The backends counted are
      // this database's and those of none (a walsender feeding back a standby's horizon): other
      // databases' snapshots do not hold back this one's tables.
      auto held = db_.prepare(
          "WITH d AS (SELECT min(age(xmin)) AS newest FROM client_data_keys WHERE destroyed_at IS NOT NULL) "
          "SELECT (SELECT count(*) FROM pg_stat_activity a, d WHERE a.pid <> pg_backend_pid() AND "
          "(a.datname = current_database() OR a.datname IS NULL) AND "
          "(age(a.backend_xmin) >= d.newest OR age(a.backend_xid) >= d.newest)) + "
          "(SELECT count(*) FROM pg_replication_slots s, d WHERE age(s.xmin) >= d.newest) + "
          "(SELECT count(*) FROM pg_prepared_xacts p, d WHERE age(p.transaction) >= d.newest)");
      if (!held.step() || held.col_int(0) != 0) return false;
      db_.exec("VACUUM FULL client_data_keys");  // outside a transaction only
      return true;
    }
    auto checkpoint = db_.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    bool busy = false;
    if (checkpoint.step()) busy = checkpoint.col_int(0) != 0;  // (busy, log frames, checkpointed frames)
    while (checkpoint.step()) {
    }
    return !busy;
  } catch (const db::DbError&) {
    return false;
  }
}

}  // namespace bastion::audit
