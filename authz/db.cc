// db::Database over its Backend: the engine is chosen by the location open is given, everything
// else (statements, transactions, migrations) is the same for both.
#include "authz/db.h"

#include <string>

#include "authz/db_backend.h"
#include "authz/schema.h"

namespace bastion::db {

// --- Statement ---

Statement::Statement(std::unique_ptr<StatementBackend> s) : s_(std::move(s)) {}
Statement::~Statement() = default;
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;

Statement& Statement::bind(int i, std::int64_t v) {
  s_->bind_int(i, v);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  s_->bind_text(i, v);
  return *this;
}

Statement& Statement::bind(int i, std::nullopt_t) {
  s_->bind_null(i);
  return *this;
}

Statement& Statement::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind(i, std::nullopt);
}

bool Statement::step() { return s_->step(); }

std::int64_t Statement::returned_id() {
  if (!step()) throw DbError("INSERT … RETURNING id returned no row");
  const std::int64_t id = col_int(0);
  while (step()) {
  }
  return id;
}
std::int64_t Statement::col_int(int i) const { return s_->col_int(i); }
std::string Statement::col_text(int i) const { return s_->col_text(i); }
bool Statement::col_null(int i) const { return s_->col_null(i); }
void Statement::reset() { s_->reset(); }

// --- Database ---

Database::Database(std::unique_ptr<Backend> backend, std::string path)
    : backend_(std::move(backend)), path_(std::move(path)) {}
Database::~Database() = default;

bool Database::is_postgres_location(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::optional<std::string> Database::file_of(std::string_view location) {
  if (is_postgres_location(location)) return std::nullopt;
  if (location.starts_with("sqlite:")) location.remove_prefix(std::string_view("sqlite:").size());
  return std::string(location);
}

std::string Database::shown(std::string_view location) { return file_of(location).value_or("on PostgreSQL"); }

Result<std::shared_ptr<Database>> Database::open(const std::string& location, bool create) {
  const bool postgres = is_postgres_location(location);
  const std::string path = file_of(location).value_or(location);
  auto backend = postgres ? open_postgres(location) : open_sqlite(path, create);
  if (!backend) return backend.error();
  std::shared_ptr<Database> db(new Database(std::move(backend).value(), path));
  const std::string where = shown(location);
  try {
    // Without create, an empty database is not silently initialised: it was not initialised.
    if (!create && db->schema_version() == 0) {
      return Error{"database " + where + " is not initialised; run `bastionctl --db " +
                   (postgres ? std::string("URL") : path) + " init` first"};
    }
    if (auto st = migrate(*db); !st) return st.error();
  } catch (const DbError& e) {
    return Error{"database " + where + ": " + e.what()};
  }
  return db;
}

bool Database::is_postgres() const { return backend_->is_postgres(); }

Statement Database::prepare(std::string_view sql) { return Statement(backend_->prepare(sql)); }
void Database::exec(std::string_view sql) { backend_->exec(sql); }
int Database::changes() const { return backend_->changes(); }
int Database::schema_version() { return backend_->schema_version(); }
void Database::set_busy_timeout(std::chrono::milliseconds wait) { backend_->set_busy_timeout(wait); }
void Database::keep_cache_small() {
  // A soft cap: SQLite exceeds it while a statement pins more pages, and spills a large
  // transaction's dirty pages to the WAL early rather than failing it.
  if (!is_postgres()) exec("PRAGMA cache_size = -" + std::to_string(kSmallCacheKiB));
}
bool Database::listen_for_changes() { return backend_->listen_for_changes(); }
int Database::change_fd() const { return backend_->change_fd(); }
void Database::read_changes() { backend_->read_changes(); }
Database::Changes Database::take_changes() { return backend_->take_changes(); }

// --- Transaction ---

// Inside an open transaction a Transaction becomes a savepoint, so a store write and the audit
// event recording it can share one outer transaction (admin commands: both commit or neither).
Database::Transaction::Transaction(Database& db) : db_(db), nested_(db.backend_->in_transaction()) {
  if (nested_) {
    db_.exec("SAVEPOINT bastion_nested");
  } else {
    db_.backend_->begin();
  }
}

Database::Transaction::~Transaction() {
  if (done_) return;
  db_.backend_->rollback_quietly(nested_);  // a destructor must not throw
}

void Database::Transaction::commit() {
  if (nested_) {
    db_.exec("RELEASE bastion_nested");
  } else {
    db_.backend_->commit();
  }
  done_ = true;  // only now: a COMMIT SQLite refused (busy) leaves the transaction to roll back
}

}  // namespace bastion::db
