// The RAII wrapper over sqlite3. Every failure of SQLite itself becomes a DbError carrying
// sqlite3_errmsg, so the edges can refuse with the database's own words.
#include "authz/db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "authz/schema.h"

namespace bastion::db {
namespace {

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

}  // namespace

// --- Statement ---

Statement& Statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(s_.get(), i, v) != SQLITE_OK) throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer may die before step().
  if (sqlite3_bind_text64(s_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
  }
  return *this;
}

Statement& Statement::bind(int i, std::nullopt_t) {
  if (sqlite3_bind_null(s_.get(), i) != SQLITE_OK) throw_sqlite(sqlite3_db_handle(s_.get()), "bind");
  return *this;
}

Statement& Statement::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind(i, std::nullopt);
}

bool Statement::step() {
  const int rc = sqlite3_step(s_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(sqlite3_db_handle(s_.get()), "query failed");
}

std::int64_t Statement::col_int(int i) const { return sqlite3_column_int64(s_.get(), i); }

std::string Statement::col_text(int i) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), i));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), i)));
}

bool Statement::col_null(int i) const { return sqlite3_column_type(s_.get(), i) == SQLITE_NULL; }

void Statement::reset() {
  sqlite3_reset(s_.get());
  sqlite3_clear_bindings(s_.get());
}

// --- Database ---

Result<std::shared_ptr<Database>> Database::open(const std::string& path, bool create) {
  const bool existed = file_exists(path);
  if (!existed && !create) {
    return Error{"database " + path + " does not exist; run `bastionctl --db " + path + " init` first"};
  }
  if (!existed) {
    if (auto st = create_private_file(path); !st) return st.error();
  }
  auto handle = open_handle(path);
  if (!handle) return handle.error();
  std::shared_ptr<Database> db(new Database(std::move(handle).value(), path));
  try {
    db->set_busy_timeout(kBusyTimeout);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA foreign_keys = ON");
    // Without create, an empty file is not silently turned into a database: it was not initialised.
    if (!create && db->schema_version() == 0) {
      return Error{"database " + path + " is not initialised; run `bastionctl --db " + path + " init` first"};
    }
    if (auto st = migrate(*db); !st) return st.error();
  } catch (const DbError& e) {
    return Error{"database " + path + ": " + e.what()};
  }
  return db;
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    throw_sqlite(db_.get(), "prepare");
  }
  return Statement(StmtPtr(raw));
}

void Database::exec(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string; string_view does not promise one.
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw_sqlite(db_.get(), "exec");
  }
}

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }

void Database::set_busy_timeout(std::chrono::milliseconds wait) {
  sqlite3_busy_timeout(db_.get(), static_cast<int>(wait.count()));
}

int Database::changes() const { return sqlite3_changes(db_.get()); }

int Database::schema_version() {
  Statement s = prepare("PRAGMA user_version");
  return s.step() ? static_cast<int>(s.col_int(0)) : 0;
}

// --- Transaction ---

// Inside an open transaction a Transaction becomes a savepoint, so a store write and the audit
// event recording it can share one outer transaction (admin commands: both commit or neither).
Database::Transaction::Transaction(Database& db) : db_(db), nested_(sqlite3_get_autocommit(db.raw()) == 0) {
  db_.exec(nested_ ? "SAVEPOINT bastion_nested" : "BEGIN IMMEDIATE");
}

Database::Transaction::~Transaction() {
  if (done_) return;
  // A destructor must not throw; if ROLLBACK fails the connection is already unusable and SQLite
  // rolls back on close anyway.
  sqlite3_exec(db_.raw(), nested_ ? "ROLLBACK TO bastion_nested; RELEASE bastion_nested" : "ROLLBACK", nullptr,
               nullptr, nullptr);
}

void Database::Transaction::commit() {
  db_.exec(nested_ ? "RELEASE bastion_nested" : "COMMIT");
  done_ = true;
}

}  // namespace bastion::db
