#pragma once
// Database and Statement: the one wrapper over the SQL engine. SQL lives only in the stores (the
// implementations of authz/store.h, ban_store.h, request_store.h, web_account_store.h, and of
// audit/event_log.h, session_store.h, evidence_store.h, checkpoint_store.h, data_key_store.h) and
// in the migrations (authz/schema.cc, schema_postgres.cc). The engine behind
// is a Backend (authz/db_backend.h): SQLite (authz/db_sqlite.cc), the default, or PostgreSQL
// (authz/db_postgres.cc), chosen by the location Database::open is given.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authz/result.h"

namespace bastion::db {

class Backend;
class StatementBackend;

// Statement binds parameters by 1-based index and steps through rows.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> s);
  ~Statement();
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, std::nullopt_t);
  Statement& bind(int i, const std::optional<std::int64_t>& v);
  // step returns true while a row is available, false when done; an error throws DbError.
  bool step();
  // returned_id runs an INSERT … RETURNING id to its end and returns the id (both engines; the row
  // id of the last insert is SQLite's alone).
  std::int64_t returned_id();
  std::int64_t col_int(int i) const;
  std::string col_text(int i) const;
  bool col_null(int i) const;
  void reset();

 private:
  std::unique_ptr<StatementBackend> s_;
};

// DbError is thrown for failures of the database itself (corrupt, locked beyond the busy timeout,
// disk full). Callers at the edges turn it into a refusal: if the database is unreadable, nobody
// gets in (DESIGN.md rule 5).
struct DbError : std::runtime_error {
  explicit DbError(const std::string& what, bool busy = false, std::string refusal = {})
      : std::runtime_error(what), busy(busy), refusal(std::move(refusal)) {}
  // busy: the database is locked by another process beyond the busy timeout (SQLITE_BUSY or
  // SQLITE_LOCKED), or PostgreSQL could not be reached or gave up a transaction that a retry may
  // pass (serialization failure, deadlock, lock timeout), as opposed to broken: a person may simply
  // try again.
  bool busy = false;
  // refusal: what a person is told, when the engine knows better words than kBusyRefusal (which
  // PostgreSQL server could not be reached).
  std::string refusal;
};

// kBusyRefusal is what a person is told when a request failed only because another process holds
// the database locked.
inline constexpr const char* kBusyRefusal = "the bastion's database is busy; try again";

// names_busy: whether an error message passed up as text (an audit append's Status) comes from a
// database locked by another process (SQLite's own words for SQLITE_BUSY and SQLITE_LOCKED), or
// from a PostgreSQL server out of reach or a transaction it asks to retry (authz/db_postgres.cc
// words these so).
inline bool names_busy(std::string_view message) {
  return message.find("database is locked") != std::string_view::npos ||
         message.find("database table is locked") != std::string_view::npos ||
         message.find("cannot be reached; try again") != std::string_view::npos ||
         message.find("(retry it)") != std::string_view::npos;
}

// refusal_for words a DbError as a refusal a person can act on.
inline std::string refusal_for(const DbError& e) {
  if (!e.refusal.empty()) return e.refusal;
  if (e.busy) return kBusyRefusal;
  return std::string("the bastion database cannot be read (") + e.what() + "); try again";
}

class Database {
 public:
  // kBusyTimeout bounds every wait for the write lock: a database held locked by another process
  // (a backup, `sqlite3` with BEGIN EXCLUSIVE) fails a write after this long, never hangs it.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};
  // open opens the database at location and applies pending schema migrations. A location is a
  // file path or `sqlite:PATH` (SQLite: with create=true the file is created, mode 0600; WAL,
  // foreign keys and a busy timeout are enabled) or a `postgresql://…` / `postgres://…` URL
  // (PostgreSQL through libpq: the database must exist; create=true lets an empty one be
  // initialised).
  static Result<std::shared_ptr<Database>> open(const std::string& location, bool create);
  // is_postgres_location: whether open would take location for a PostgreSQL URL.
  static bool is_postgres_location(std::string_view location);
  // file_of: the SQLite file a location names (without its `sqlite:`), nullopt for PostgreSQL.
  static std::optional<std::string> file_of(std::string_view location);
  // shown: a location as logs and messages name it: the SQLite file, or "on PostgreSQL" (a URL
  // may carry a password; what server it is, the backend's own errors say without it).
  static std::string shown(std::string_view location);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Statement prepare(std::string_view sql);
  void exec(std::string_view sql);
  int changes() const;
  int schema_version();
  // set_busy_timeout sets how long a statement waits for another connection's write lock before it
  // fails with "database is locked" (open sets kBusyTimeout). Whoever must not stall for that long
  // (a retry from a loop that also moves session bytes) sets a shorter one for its attempt.
  void set_busy_timeout(std::chrono::milliseconds wait);
  // keep_cache_small caps SQLite's page cache of this connection at kSmallCacheKiB (the default
  // is 2 000 KiB; nothing on PostgreSQL, whose cache is the server's). For the connection each
  // monitor holds for its operator's whole stay: its cache is heap that counts per connection, and
  // in WAL mode any other connection's commit (every other monitor writes events) empties it at
  // the next read anyway, so a large one buys little but resident memory. Throws DbError.
  static constexpr int kSmallCacheKiB = 64;
  void keep_cache_small();
  // path is the location open was given (a file path, or a URL for PostgreSQL).
  const std::string& path() const { return path_; }
  // is_postgres: whether the engine behind is PostgreSQL (the few statements whose SQL cannot be
  // the same on both engines choose by it; they say why where they do).
  bool is_postgres() const;
  Backend& backend() { return *backend_; }

  // Change notices: a wake-up, sooner than a poll, that the access version (audit/node_store.h,
  // access_version) may have moved on some node. PostgreSQL: LISTEN on this connection, the
  // triggers' NOTIFY (authz/schema_postgres.cc, migration 20); SQLite has none (one node: its
  // readers poll). A notice only says "read the version now"; it never decides anything. Notices
  // are lost while the connection is down (PostgreSQL does not keep them for a listener that comes
  // back), so a take after a reconnect says Some: read the version, something may have moved.
  enum class Changes {
    Unknown,  // nothing to go by: no notices on this engine, not listening, or the connection down
    Some,     // a notice of this schema came, or listening (re)started: a notice may have been missed
    None,     // listening all along on a connection that stayed up, and no notice came
  };
  // listen_for_changes starts listening (again by itself after each reconnect); false when the
  // engine has no notices (SQLite). Throws DbError.
  bool listen_for_changes();
  // change_fd: the descriptor to poll for notices (readable: call read_changes); -1 when there is
  // none to poll (no notices, not listening, the connection down).
  int change_fd() const;
  // read_changes takes in, without waiting, what has arrived on change_fd, for the next
  // take_changes; a connection found lost makes the take Unknown. Never throws.
  void read_changes();
  // take_changes: what came since the last take (it reads first), and starts the next one afresh.
  Changes take_changes();

  // Transaction: BEGIN IMMEDIATE (SQLite) or BEGIN and the writers' advisory lock (PostgreSQL:
  // authz/db_postgres.cc says why) on construction, ROLLBACK unless commit() was called. Opened while
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
  Database(std::unique_ptr<Backend> backend, std::string path);
  std::unique_ptr<Backend> backend_;
  std::string path_;
};

using DatabasePtr = std::shared_ptr<Database>;

}  // namespace bastion::db
