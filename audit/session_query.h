#pragma once
// Session queries for review: sessions filtered by server, operator, client and time, each with the
// client it belongs to AS THE CHAIN STATES IT (audit/session_facts.h: its session.start event),
// never the row's `client` column, which anyone with write access to the database could edit to
// move a session into another client's review. A session with no chained start belongs to no
// client: officers see it (and `audit verify` reports it), no reviewer does.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/evidence_store.h"
#include "audit/session_store.h"
#include "authz/db.h"

namespace bastion::audit {

struct SessionFilter {
  std::string server;
  std::string operator_name;
  std::string client;
  std::optional<Seconds> since;  // started at or after
  std::optional<Seconds> until;  // started before
  bool live_only = false;
  std::string status;  // "" for any; otherwise only sessions in this status (find_session_page)
};

// SessionOrder: the columns a sessions list may be sorted by. A closed set: a page's sort comes
// from a URL, and is mapped to one of these (never to text that reaches the SQL).
enum class SessionOrder { Start, End, Duration, Server, Operator };

// SessionPageQuery: one page of a sorted sessions list.
struct SessionPageQuery {
  SessionFilter filter;
  SessionOrder order = SessionOrder::Start;
  bool descending = true;
  std::int64_t offset = 0;
  std::int64_t limit = 50;
};

struct SessionPage {
  std::vector<SessionRow> rows;
  std::int64_t total = 0;  // sessions matching the filter, over all pages
};

// server_clients maps each server's name to its client. Throws db::DbError.
std::map<std::string, std::string> server_clients(db::Database& db);

// client_of returns the client session `s` belongs to, given chained_clients() (audit/session_facts.h);
// "" if the chain states none.
std::string client_of(const SessionRow& s, const std::map<std::int64_t, std::string>& chained_clients);

// find_sessions returns the matching sessions, oldest first. Throws db::DbError.
std::vector<SessionRow> find_sessions(const db::DatabasePtr& db, const SessionFilter& f);

// find_session_page returns one page of the matching sessions and how many match, in SQL (LIMIT and
// OFFSET: the list never reads more rows than a page). Sorted by the order asked, ties by session
// id in the same direction, so a page boundary never splits or repeats a session; a live session
// (no end, no duration yet) sorts as later and longer than every ended one. The client is the one
// the chain states (chained_sessions_of_client_sql, audit/sql_evidence_store.h), as find_sessions
// reads it. Throws db::DbError.
SessionPage find_session_page(const db::DatabasePtr& db, const SessionPageQuery& q);

// session_json: the one JSON shape of a session row (sessions list --json, client export):
// id, operator, server, login, client, source, grant_id, start, end, status, exit_status, reason,
// and pid (the session process that served it: what an operator of the host kills or traces).
nlohmann::json session_json(const SessionRow& s, const std::string& client);

// egress_of returns EgressFact (audit/evidence_store.h): how the bastion logged in to the server
// for session s, if the trail says. Throws db::DbError.
std::optional<EgressFact> egress_of(db::Database& db, const SessionRow& s);

}  // namespace bastion::audit
