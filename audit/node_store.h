#pragma once
// Nodes: several bastions on one database (README, Running several bastions). Each node writes its
// heartbeat to the `nodes` table every few seconds; a node whose heartbeat is older than the
// timeout is taken for dead (killed, its host gone), and whichever node sees it first ends that
// node's live session rows as aborted, each with a session.aborted event saying why. All SQL of
// `nodes` lives here.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/event_sinks.h"
#include "authz/clock.h"
#include "authz/db.h"

namespace bastion::audit {

struct NodeRow {
  std::string name;
  int pid = 0;
  Seconds started_at{};
  Seconds heartbeat_at{};
};

// access_version: the number that moves with every change a running session's re-check depends
// on (grants, accounts, their keys, servers, a session killed or ended elsewhere), bumped by
// triggers in the same transaction as the change (authz/schema.cc, migration 19). Equal numbers
// read at two moments mean none of those rows changed between them, on any node. On PostgreSQL
// each move is also announced to listeners (migration 20; db::Database::take_changes), so that
// readers need not poll it as often. Throws db::DbError.
std::int64_t access_version(db::Database& db);

// beat writes node's heartbeat (its row made on the first beat, its pid and start time kept up to
// date). Throws db::DbError.
void beat(db::Database& db, const std::string& node, int pid, Seconds started_at, Seconds now);

// nodes: every node that ever beat, by name. Throws db::DbError.
std::vector<NodeRow> list_nodes(db::Database& db);

// LostSession: a live session row of a dead node, ended here.
struct LostSession {
  std::int64_t session_id = 0;
  std::string node;
  Seconds last_heartbeat{};
};

// end_sessions_of_lost_nodes ends, as aborted, the live session rows of every node other than
// `self` whose heartbeat is older than now - timeout, each with its session.aborted event (actor
// "bastiond", the reason naming the node and its last heartbeat), rows and events in one
// transaction; the events then go to the sinks. Returns what it ended, and why a sink could not
// take a copy of an event (empty if all could). Throws db::DbError.
struct LostSessions {
  std::vector<LostSession> ended;
  std::string sink_error;
};
LostSessions end_sessions_of_lost_nodes(db::Database& db, const EventSinks& sinks, const std::string& self, Seconds now,
                                        std::chrono::seconds timeout);

}  // namespace bastion::audit
