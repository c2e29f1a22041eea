#pragma once
// Database and Statement: the one RAII wrapper over sqlite3 / sqlite3_stmt. SQL lives only in the
// stores (authz/sqlite_store.cc, audit/sqlite_session_store.cc) and in authz/schema.cc.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::db {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Statement binds parameters by 1-based index and steps through rows.
class Statement {
 public:
  explicit Statement(StmtPtr s) : s_(std::move(s)) {}
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, std::nullopt_t);
  Statement& bind(int i, const std::optional<std::int64_t>& v);
  // step returns true while a row is available, false when done; an error throws DbError.
  bool step();
  std::int64_t col_int(int i) const;
  std::string col_text(int i) const;
  bool col_null(int i) const;
  void reset();

 private:
  StmtPtr s_;
};

// DbError is thrown for failures of the database itself (corrupt, locked beyond the busy timeout,
// disk full). Callers at the edges turn it into a refusal: if the database is unreadable, nobody
// gets in (DESIGN.md rule 5).
struct DbError : std::runtime_error {
  explicit DbError(const std::string& what, bool busy = false) : std::runtime_error(what), busy(busy) {}
  // busy: the database is locked by another process beyond the busy timeout (SQLITE_BUSY or
  // SQLITE_LOCKED), as opposed to broken: a person may simply try again.
  bool busy = false;
};

// kBusyRefusal is what a person is told when a request failed only because another process holds
// the database locked.
inline constexpr const char* kBusyRefusal = "the bastion's database is busy; try again";

// names_busy: whether an error message passed up as text (an audit append's Status) comes from a
// database locked by another process (SQLite's own words for SQLITE_BUSY and SQLITE_LOCKED).
inline bool names_busy(std::string_view message) {
  return message.find("database is locked") != std::string_view::npos ||
         message.find("database table is locked") != std::string_view::npos;
}

// refusal_for words a DbError as a refusal a person can act on.
inline std::string refusal_for(const DbError& e) {
  if (e.busy) return kBusyRefusal;
  return std::string("the bastion database cannot be read (") + e.what() + "); try again";
}

class Database {
 public:
  // kBusyTimeout bounds every wait for the write lock: a database held locked by another process
  // (a backup, `sqlite3` with BEGIN EXCLUSIVE) fails a write after this long, never hangs it.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};
  // open opens (and with create=true creates, mode 0600) the database at path, enables WAL,
  // foreign keys and a busy timeout, and applies pending schema migrations.
  static Result<std::shared_ptr<Database>> open(const std::string& path, bool create);

  Statement prepare(std::string_view sql);
  void exec(std::string_view sql);
  std::int64_t last_insert_id() const;
  int changes() const;
  int schema_version();
  // set_busy_timeout sets how long a statement waits for another connection's write lock before it
  // fails with "database is locked" (open sets kBusyTimeout). Whoever must not stall for that long
  // (a retry from a loop that also moves session bytes) sets a shorter one for its attempt.
  void set_busy_timeout(std::chrono::milliseconds wait);
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_.get(); }

  // Transaction: BEGIN IMMEDIATE on construction, ROLLBACK unless commit() was called. Opened while
  // another transaction is open on this connection, it is a savepoint inside it instead: its commit
  // is final only when the outer one commits, its rollback undoes only its own writes.
  class Transaction {
   public:
    explicit Transaction(Database& db);
    ~Transaction();
    void commit();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

   private:
    Database& db_;
    bool nested_ = false;
    bool done_ = false;
  };

 private:
  Database(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  SqlitePtr db_;
  std::string path_;
};

using DatabasePtr = std::shared_ptr<Database>;

}  // namespace bastion::db
