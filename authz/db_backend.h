#pragma once
// Backend: what an SQL engine provides behind db::Database (authz/db.h). Two implementations:
// SQLite (authz/db_sqlite.cc) and PostgreSQL through libpq (authz/db_postgres.cc). Only
// authz/db*.cc include this header; stores see Database and Statement alone.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "authz/db.h"
#include "authz/result.h"

namespace bastion::db {

class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void bind_int(int i, std::int64_t v) = 0;
  virtual void bind_text(int i, std::string_view v) = 0;
  virtual void bind_null(int i) = 0;
  virtual bool step() = 0;
  virtual std::int64_t col_int(int i) const = 0;
  virtual std::string col_text(int i) const = 0;
  virtual bool col_null(int i) const = 0;
  virtual void reset() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual bool is_postgres() const = 0;
  virtual std::unique_ptr<StatementBackend> prepare(std::string_view sql) = 0;
  virtual void exec(std::string_view sql) = 0;
  virtual int changes() const = 0;
  // schema_version: the highest migration applied, 0 for an empty database.
  virtual int schema_version() = 0;
  // set_schema_version records it, inside the migration's transaction.
  virtual void set_schema_version(int version) = 0;
  virtual void set_busy_timeout(std::chrono::milliseconds wait) = 0;
  virtual bool in_transaction() = 0;
  // begin starts an outer transaction holding the database's one write lock (SQLite: BEGIN
  // IMMEDIATE; PostgreSQL: BEGIN and an advisory lock), so that read-then-write is safe in it.
  virtual void begin() = 0;
  // commit ends the outer transaction; a transaction the engine rolled back instead throws.
  virtual void commit() = 0;
  // rollback_quietly undoes the outer transaction or the nested savepoint; it never throws (it runs
  // from a destructor), and a failure leaves a connection the engine rolls back when it closes.
  virtual void rollback_quietly(bool nested) noexcept = 0;
  // Change notices (Database::listen_for_changes and after): none by default (SQLite).
  virtual bool listen_for_changes() { return false; }
  virtual int change_fd() const { return -1; }
  virtual void read_changes() noexcept {}
  virtual Database::Changes take_changes() { return Database::Changes::Unknown; }
};

// open_sqlite / open_postgres connect; Database::open then migrates.
Result<std::unique_ptr<Backend>> open_sqlite(const std::string& path, bool create);
Result<std::unique_ptr<Backend>> open_postgres(const std::string& url);

}  // namespace bastion::db
