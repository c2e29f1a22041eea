#pragma once
// Versioned schema migrations. Each migration is a numbered list of statements applied in one
// transaction; the database records the highest applied number (SQLite: PRAGMA user_version, part
// of the database header; PostgreSQL: the table bastion_schema, its DDL transactional), committed
// atomically with the migration. SQLite and PostgreSQL have a list each (authz/schema.cc,
// authz/schema_postgres.cc); a migration has the same number on both.
#include <span>
#include <string_view>

#include "authz/result.h"

namespace bastion::db {

class Database;

struct Migration {
  int version;                                  // 1, 2, 3 … in order, never renumbered
  std::string_view description;
  std::span<const std::string_view> statements;
};

// migrations returns every SQLite migration the code knows, oldest first;
// postgres_migrations the PostgreSQL ones.
std::span<const Migration> migrations();
std::span<const Migration> postgres_migrations();

// latest_schema_version is the version a fully migrated database has.
int latest_schema_version();

// migrate applies every migration newer than the database's version, each in its own transaction.
// Returns an error (and changes nothing) if the database is newer than this code: an older binary
// must not write into a schema it does not understand.
Status migrate(Database& db);

}  // namespace bastion::db
