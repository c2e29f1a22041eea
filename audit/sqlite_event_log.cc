#include "audit/sqlite_event_log.h"

#include <variant>

#include "audit/event_chain.h"
#include "audit/session_facts.h"
#include "audit/sql_evidence_store.h"

namespace bastion::audit {
namespace {

using Bind = std::variant<std::int64_t, std::string>;

StoredEvent stored_event(const db::Statement& q) { return read_event_row(q).stored; }

// Where collects SQL conditions and their parameters, in order.
struct Where {
  std::string sql;
  std::vector<Bind> binds;
  void add(std::string condition, std::vector<Bind> values) {
    sql += (sql.empty() ? " WHERE " : " AND ") + condition;
    for (auto& v : values) binds.push_back(std::move(v));
  }
};

Where where_of(const EventFilter& f) {
  Where w;
  if (f.since) w.add("at >= ?", {std::int64_t{to_unix(*f.since)}});
  if (f.until) w.add("at < ?", {std::int64_t{to_unix(*f.until)}});
  if (!f.server.empty()) w.add("server = ?", {f.server});
  if (!f.actor.empty()) w.add("actor = ?", {f.actor});
  if (!f.kind.empty()) {
    w.add("(kind = ? OR substr(kind, 1, ?) = ?)",
          {f.kind, static_cast<std::int64_t>(f.kind.size() + 1), f.kind + "."});
  }
  if (!f.client.empty()) {
    // A session's client is the one its chained session.start states (audit/session_facts.h), not
    // the sessions row's; starts written before clients were stated fall back to their server.
    w.add("(server IN (SELECT name FROM servers WHERE client = ?) OR session_id IN (" +
              chained_sessions_of_client_sql("?") + "))",
          {f.client, f.client});
  }
  if (f.session_id) w.add("session_id = ?", {*f.session_id});
  return w;
}

void bind_all(db::Statement& q, const std::vector<Bind>& binds) {
  int i = 1;
  for (const auto& b : binds) std::visit([&](const auto& v) { q.bind(i++, v); }, b);
}

}  // namespace

StoredEvent chain_append(db::Database& db, const Event& e) {
  StoredEvent s{0, well_formed(e), "", ""};
  auto last = db.prepare("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1");
  if (last.step()) {
    s.id = last.col_int(0) + 1;
    s.prev_hash = last.col_text(1);
  } else {
    s.id = 1;
  }
  s.hash = event_hash(s.id, s.prev_hash, s.event);
  auto q = db.prepare(
      "INSERT INTO events (id, at, kind, actor, source, server, session_id, details, prev_hash, hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, s.id).bind(2, std::int64_t{to_unix(s.event.at)}).bind(3, s.event.kind).bind(4, s.event.actor);
  q.bind(5, s.event.source).bind(6, s.event.server).bind(7, s.event.session_id);
  q.bind(8, compact_details(s.event.details)).bind(9, s.prev_hash).bind(10, s.hash);
  q.step();
  return s;
}

Result<StoredEvent> SqliteEventLog::append_stored(const Event& e) {
  StoredEvent stored;
  try {
    db::Database::Transaction tx(*db_);
    stored = chain_append(*db_, e);
    tx.commit();
  } catch (const db::DbError& err) {
    return Error{"cannot record the audit event " + e.kind + ": " + err.what()};
  }
  if (auto st = emit_to_sinks(sinks_, stored); !st) {
    return Error{"audit event " + std::to_string(stored.id) + " (" + e.kind + ") is in the database, but " +
                 st.error().message};
  }
  return stored;
}

Status SqliteEventLog::append(const Event& e) {
  auto stored = append_stored(e);
  if (!stored) return stored.error();
  return ok_status();
}

EventLogPtr open_event_log(db::DatabasePtr db, EventSinks sinks) {
  return std::make_unique<SqliteEventLog>(std::move(db), std::move(sinks));
}

std::vector<StoredEvent> list_events(db::Database& db, const EventFilter& f) {
  const Where w = where_of(f);
  std::string sql = "SELECT " + std::string(kEventColumns) + " FROM events" + w.sql + " ORDER BY id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto q = db.prepare(sql);
  bind_all(q, w.binds);
  std::vector<StoredEvent> out;
  while (q.step()) out.push_back(stored_event(q));
  return {out.rbegin(), out.rend()};
}

}  // namespace bastion::audit
