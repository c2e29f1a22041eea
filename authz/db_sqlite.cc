// The SQLite backend of db::Database. Every failure of SQLite itself becomes a DbError carrying
// sqlite3_errmsg, so the edges can refuse with the database's own words.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "authz/db.h"
#include "authz/db_backend.h"

namespace bastion::db {
namespace {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what) {
  const int code = db != nullptr ? (sqlite3_extended_errcode(db) & 0xff) : SQLITE_NOMEM;
  throw DbError(std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"),
                code == SQLITE_BUSY || code == SQLITE_LOCKED);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// create_private_file creates path with mode 0600 before SQLite sees it: SQLite would create it
// 0644 (less the umask), and its -wal and -shm files copy the main file's mode.
Status create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error{"cannot create database " + path + ": " + std::strerror(errno)};
  const bool chmod_ok = ::fchmod(fd, 0600) == 0;
  const int saved = errno;
  ::close(fd);
  if (!chmod_ok) return Error{"cannot set mode 0600 on " + path + ": " + std::strerror(saved)};
  return ok_status();
}

Result<SqlitePtr> open_handle(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  SqlitePtr db(raw);  // sqlite3_open_v2 may allocate a handle even on failure
  if (rc != SQLITE_OK) {
    return Error{"cannot open database " + path + ": " + (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory")};
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

class SqliteStatement final : public StatementBackend {
 public:
  explicit SqliteStatement(StmtPtr s) : s_(std::move(s)) {}

  void bind_int(int i, std::int64_t v) override {
    if (sqlite3_bind_int64(s_.get(), i, v) != SQLITE_OK) throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
  }
  void bind_text(int i, std::string_view v) override {
    // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer may die before step().
    if (sqlite3_bind_text64(s_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
      throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
    }
  }
  void bind_null(int i) override {
    if (sqlite3_bind_null(s_.get(), i) != SQLITE_OK) throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
  }
  bool step() override {
    const int rc = sqlite3_step(s_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite(sqlite3_db_handle(s_.get()), "query failed");
  }
  std::int64_t col_int(int i) const override { return sqlite3_column_int64(s_.get(), i); }
  std::string col_text(int i) const override {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), i));
    if (text == nullptr) return {};
    return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), i)));
  }
  bool col_null(int i) const override { return sqlite3_column_type(s_.get(), i) == SQLITE_NULL; }
  void reset() override {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
  }

 private:
  StmtPtr s_;
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(SqlitePtr db) : db_(std::move(db)) {}

  bool is_postgres() const override { return false; }

  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
      throw_sqlite(db_.get(), "prepare");
    }
    return std::make_unique<SqliteStatement>(StmtPtr(raw));
  }

  void exec(std::string_view sql) override {
    // sqlite3_exec needs a NUL-terminated string; string_view does not promise one.
    const std::string text(sql);
    if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw_sqlite(db_.get(), "exec");
    }
  }

  int changes() const override { return sqlite3_changes(db_.get()); }

  int schema_version() override {
    auto s = prepare("PRAGMA user_version");
    return s->step() ? static_cast<int>(s->col_int(0)) : 0;
  }
  // PRAGMA user_version is part of the database header, committed atomically with the migration.
  // PRAGMA takes no bound parameters; the value is our own integer.
  void set_schema_version(int version) override { exec("PRAGMA user_version = " + std::to_string(version)); }

  void set_busy_timeout(std::chrono::milliseconds wait) override {
    sqlite3_busy_timeout(db_.get(), static_cast<int>(wait.count()));
  }

  bool in_transaction() override { return sqlite3_get_autocommit(db_.get()) == 0; }
  void begin() override { exec("BEGIN IMMEDIATE"); }
  void commit() override { exec("COMMIT"); }
  void rollback_quietly(bool nested) noexcept override {
    // If ROLLBACK fails the connection is already unusable and SQLite rolls back on close anyway.
    sqlite3_exec(db_.get(), nested ? "ROLLBACK TO bastion_nested; RELEASE bastion_nested" : "ROLLBACK", nullptr,
                 nullptr, nullptr);
  }

 private:
  SqlitePtr db_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_sqlite(const std::string& path, bool create) {
  const bool existed = file_exists(path);
  if (!existed && !create) {
    return Error{"database " + path + " does not exist; run `bastionctl --db " + path + " init` first"};
  }
  if (!existed) {
    if (auto st = create_private_file(path); !st) return st.error();
  }
  auto handle = open_handle(path);
  if (!handle) return handle.error();
  auto backend = std::make_unique<SqliteBackend>(std::move(handle).value());
  try {
    backend->set_busy_timeout(Database::kBusyTimeout);
    backend->exec("PRAGMA journal_mode = WAL");
    backend->exec("PRAGMA foreign_keys = ON");
  } catch (const DbError& e) {
    return Error{"database " + path + ": " + e.what()};
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace bastion::db
