#pragma once
// SqlDataKeyStore: DataKeyStore (audit/data_key_store.h) through db::Database. It borrows the
// database: whoever made it keeps the Database alive.
#include "audit/data_key_store.h"
#include "authz/db.h"

namespace bastion::audit {

class SqlDataKeyStore final : public DataKeyStore {
 public:
  explicit SqlDataKeyStore(db::Database& db) : db_(db) {}

  std::vector<ClientKeyInfo> list() override;
  std::optional<ClientKeyInfo> find_by_client(const std::string& client) override;
  std::optional<ClientKeyInfo> find_by_id(const std::string& key_id) override;
  std::optional<WrappedKey> wrapped(const std::string& key_id) override;
  void add(const ClientKeyInfo& key, const std::string& wrapped_hex) override;
  void erase_wrapped(const std::string& key_id, Seconds at, const std::string& by) override;
  bool scrub() override;

 private:
  db::Database& db_;
};

}  // namespace bastion::audit
