#pragma once
// DataKeyStore: the rows of client_data_keys (audit/data_keys.h says what a data key is): each
// client's data key, stored only wrapped under the master key, and its destruction. The SQL is
// audit/sql_data_key_store.cc's, on SQLite and PostgreSQL alike. Every method throws db::DbError
// when the database cannot be read or written.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authz/clock.h"

namespace bastion::audit {

// ClientKeyInfo: what may be shown of a client's data key — never the key.
struct ClientKeyInfo {
  std::string key_id;
  std::string client;
  Seconds created_at{};
  std::optional<Seconds> destroyed_at;  // set once shredded
  std::string destroyed_by;
  bool destroyed() const { return destroyed_at.has_value(); }
};

// WrappedKey: a key's row with its wrapped bytes (hex; empty once destroyed).
struct WrappedKey {
  ClientKeyInfo info;
  std::string wrapped;
};

class DataKeyStore {
 public:
  virtual ~DataKeyStore() = default;
  // list: every client's key, by client name.
  virtual std::vector<ClientKeyInfo> list() = 0;
  virtual std::optional<ClientKeyInfo> find_by_client(const std::string& client) = 0;
  virtual std::optional<ClientKeyInfo> find_by_id(const std::string& key_id) = 0;
  virtual std::optional<WrappedKey> wrapped(const std::string& key_id) = 0;
  virtual void add(const ClientKeyInfo& key, const std::string& wrapped_hex) = 0;
  // erase_wrapped deletes the wrapped bytes of key_id and records when and by whom. On SQLite the
  // freed bytes are overwritten in the file (secure_delete); on PostgreSQL the old row version
  // stays in the table's file until scrub() (below) rewrites it.
  virtual void erase_wrapped(const std::string& key_id, Seconds at, const std::string& by) = 0;
  // scrub, outside any transaction, once the erasure committed: leaves no copy of the erased bytes
  // that the engine can drop. SQLite: the write-ahead log is checkpointed into the file and
  // truncated. PostgreSQL: VACUUM FULL rewrites client_data_keys into new files without the dead row
  // versions (its write-ahead log, archived WAL and backups keep what they hold: README, Database).
  // Returns false if that could not be done now: another connection was reading the log (SQLite),
  // a snapshot older than the destruction could still see the old row version, or a lock wait ran
  // out (PostgreSQL); the old bytes are then overwritten as the bastion goes on (SQLite), or stay
  // until a later scrub or autovacuum (PostgreSQL).
  virtual bool scrub() = 0;
};
using DataKeyStorePtr = std::unique_ptr<DataKeyStore>;

}  // namespace bastion::audit
