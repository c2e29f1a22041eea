#include "audit/node_store.h"

#include "audit/sqlite_event_log.h"
#include "authz/text.h"

namespace bastion::audit {

std::int64_t access_version(db::Database& db) {
  auto q = db.prepare("SELECT version FROM access_version WHERE id = 1");
  if (!q.step()) throw db::DbError("the access_version row is missing (migration 19)");
  return q.col_int(0);
}

void beat(db::Database& db, const std::string& node, int pid, Seconds started_at, Seconds now) {
  // One statement, atomic on its own on both engines: no transaction (and so no wait for the
  // writers' lock) in the listener's loop.
  auto q = db.prepare(
      R"(INSERT INTO nodes (name, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at,
                                          heartbeat_at = excluded.heartbeat_at)");
  q.bind(1, node).bind(2, std::int64_t{pid}).bind(3, static_cast<std::int64_t>(to_unix(started_at)));
  q.bind(4, static_cast<std::int64_t>(to_unix(now)));
  q.step();
}

std::vector<NodeRow> list_nodes(db::Database& db) {
  auto q = db.prepare("SELECT name, pid, started_at, heartbeat_at FROM nodes ORDER BY name");
  std::vector<NodeRow> out;
  while (q.step())
    out.push_back({q.col_text(0), static_cast<int>(q.col_int(1)), from_unix(q.col_int(2)), from_unix(q.col_int(3))});
  return out;
}

LostSessions end_sessions_of_lost_nodes(db::Database& db, const EventSinks& sinks, const std::string& self, Seconds now,
                                        std::chrono::seconds timeout) {
  // Asked first without the writers' lock: nearly always nobody is lost, and the beat of every
  // node must not queue behind the lock for nothing.
  const auto stale_before = static_cast<std::int64_t>(to_unix(now) - timeout.count());
  auto any = db.prepare(
      R"(SELECT 1 FROM sessions s JOIN nodes n ON n.name = s.node
         WHERE s.status = 'live' AND n.name <> ? AND n.heartbeat_at < ? LIMIT 1)");
  any.bind(1, self).bind(2, stale_before);
  if (!any.step()) return {};

  LostSessions out;
  std::vector<StoredEvent> written;
  db::Database::Transaction tx(db);
  // Read again under the lock: the node may have beaten meanwhile, or another node ended its rows.
  auto q = db.prepare(
      R"(SELECT s.id, s.node, n.heartbeat_at, s."operator", s.server FROM sessions s JOIN nodes n ON n.name = s.node
         WHERE s.status = 'live' AND n.name <> ? AND n.heartbeat_at < ? ORDER BY s.id)");
  q.bind(1, self).bind(2, stale_before);
  struct Row {
    LostSession lost;
    std::string operator_name, server;
  };
  std::vector<Row> rows;
  while (q.step())
    rows.push_back({{q.col_int(0), q.col_text(1), from_unix(q.col_int(2))}, q.col_text(3), q.col_text(4)});
  for (const auto& r : rows) {
    const std::string reason = "node " + r.lost.node + " stopped sending its heartbeat (last at " +
                               format_utc(r.lost.last_heartbeat) + "; timeout " +
                               std::to_string(timeout.count()) + " s): taken for dead by node " + self;
    auto u = db.prepare(
        "UPDATE sessions SET status = 'aborted', ended_at = ?, reason = ? WHERE id = ? AND status = 'live'");
    u.bind(1, static_cast<std::int64_t>(to_unix(now))).bind(2, reason).bind(3, r.lost.session_id);
    u.step();
    Event ev{now, "session.aborted", "bastiond", "", r.server, r.lost.session_id,
             {{"reason", reason},
              {"node", r.lost.node},
              {"ended_by_node", self},
              {"last_heartbeat", to_unix(r.lost.last_heartbeat)},
              {"ended_at", to_unix(now)},
              {"operator", r.operator_name}}};
    written.push_back(chain_append(db, ev));
    out.ended.push_back(r.lost);
  }
  tx.commit();
  // The rows and events are the record of truth, committed; a sink that cannot take a copy is
  // reported to the caller (which logs it), as retention does.
  for (const auto& e : written) {
    if (auto st = emit_to_sinks(sinks, e); !st && out.sink_error.empty()) out.sink_error = st.error().message;
  }
  return out;
}

}  // namespace bastion::audit
