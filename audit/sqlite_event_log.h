#pragma once
// SqliteEventLog: the audit trail in the `events` table (authz/schema.cc), hash-chained as defined
// in audit/event_chain.h, and copied to the sinks of audit/event_sinks.h. All SQL of `events`
// lives here, in verify.cc and in retention.cc.
//
// Several session processes append at once. Each append reads the last row's id and hash and
// inserts the next row inside one BEGIN IMMEDIATE transaction, so the database's write lock
// serialises appenders and no two events ever claim the same predecessor.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "audit/event_sinks.h"
#include "authz/db.h"

namespace bastion::audit {

class SqliteEventLog final : public EventLog {
 public:
  SqliteEventLog(db::DatabasePtr db, EventSinks sinks) : db_(std::move(db)), sinks_(std::move(sinks)) {}

  // append stores the event (the database row is the record of truth), then emits it to the sinks.
  // An error either means the row was not written, or that it was but a sink could not be
  // written; either way the caller fails closed (DESIGN.md rule 5).
  Status append(const Event& e) override;
  // append_stored is append returning the stored row (id and hashes).
  Result<StoredEvent> append_stored(const Event& e);

 private:
  db::DatabasePtr db_;
  EventSinks sinks_;
};

EventLogPtr open_event_log(db::DatabasePtr db, EventSinks sinks = {});

// chain_append inserts `e` (made well-formed UTF-8) at the end of the chain and returns the stored
// row. The caller must hold a db::Database::Transaction (BEGIN IMMEDIATE); retention uses this to
// append its purge event and delete in one transaction. Throws db::DbError.
StoredEvent chain_append(db::Database& db, const Event& e);

// EventFilter selects events for `audit list`, exports and client reviewers. Empty strings and
// nullopt mean "any".
struct EventFilter {
  std::optional<Seconds> since;  // at >= since
  std::optional<Seconds> until;  // at < until
  std::string server;
  std::string actor;
  std::string kind;    // "auth" matches "auth" and "auth.failure", not "authx"
  std::string client;  // events about that client's servers or sessions
  std::optional<std::int64_t> session_id;
  std::size_t limit = 0;  // the most recent `limit` matches; 0 for all
};

// list_events returns the matching events, oldest first. Throws db::DbError.
std::vector<StoredEvent> list_events(db::Database& db, const EventFilter& f);

}  // namespace bastion::audit
