#include "audit/sqlite_session_store.h"

#include <algorithm>
#include <array>
#include <limits>
#include <variant>

#include "audit/session_facts.h"
#include "audit/sql_evidence_store.h"
#include "authz/decide.h"  // format_utc

namespace bastion::audit {
namespace {

constexpr std::string_view kSessionColumns =
    R"(id, "operator", server, login, grant_id, client, source, started_at, ended_at, exit_status, status, reason, pid, pid_start, node)";

// The statuses a session can end in; "live" is where it starts.
constexpr std::array<std::string_view, 3> kFinalStatuses{"closed", "aborted", "refused"};

std::optional<std::int64_t> opt_int(const db::Statement& q, int col) {
  if (q.col_null(col)) return std::nullopt;
  return q.col_int(col);
}

// session_row reads the columns of kSessionColumns, in that order.
SessionRow session_row(const db::Statement& q) {
  SessionRow r;
  r.id = q.col_int(0);
  r.operator_name = q.col_text(1);
  r.server = q.col_text(2);
  r.login = q.col_text(3);
  r.grant_id = opt_int(q, 4);
  r.client = q.col_text(5);
  r.source = q.col_text(6);
  r.start = from_unix(q.col_int(7));
  if (auto end = opt_int(q, 8)) r.end = from_unix(*end);
  if (auto exit = opt_int(q, 9)) r.exit_status = static_cast<int>(*exit);
  r.status = q.col_text(10);
  r.reason = q.col_text(11);
  r.pid = static_cast<int>(q.col_int(12));
  r.pid_start = q.col_int(13);
  r.node = q.col_text(14);
  return r;
}

std::string select_sessions(std::string_view where) {
  return "SELECT " + std::string(kSessionColumns) + " FROM sessions " + std::string(where);
}

// session_status returns the status of session id, or nullopt if there is no such session.
std::optional<std::string> session_status(db::Database& db, std::int64_t id) {
  auto q = db.prepare("SELECT status FROM sessions WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return q.col_text(0);
}

bool fits_int64(std::uint64_t v) { return v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()); }

}  // namespace

Result<std::int64_t> SqliteSessionStore::start(const SessionStart& s) {
  try {
    // The count and the insert in one write transaction: two connections of one operator starting
    // at once cannot both slip under the cap.
    db::Database::Transaction tx(*db_);
    if (s.max_live > 0) {
      // A row whose process is gone is a phantom awaiting recovery, not a session the operator holds.
      // Only this node's processes can be looked at: another node's rows count (a node that died is
      // found by its heartbeat, audit/node_store.h, and its rows end then).
      auto c = db_->prepare(
          R"(SELECT pid, pid_start, coalesce(node, '') FROM sessions WHERE "operator" = ? AND status = 'live')");
      c.bind(1, s.operator_name);
      std::int64_t live = 0;
      while (c.step()) {
        const bool ours = c.col_text(2).empty() || c.col_text(2) == s.node;
        live += !s.alive || !ours || s.alive(static_cast<int>(c.col_int(0)), c.col_int(1)) ? 1 : 0;
      }
      if (live >= s.max_live)
        return Error{s.operator_name + " already has " + std::to_string(live) +
                     " live sessions, the most one operator may hold at once; end one first"};
    }
    auto q = db_->prepare(
        R"(INSERT INTO sessions ("operator", server, login, grant_id, client, source, started_at, pid, pid_start, node)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)");
    q.bind(1, s.operator_name).bind(2, s.server).bind(3, s.login).bind(4, s.grant_id);
    q.bind(5, s.client).bind(6, s.source).bind(7, static_cast<std::int64_t>(to_unix(s.start))).bind(8, std::int64_t{s.pid});
    q.bind(9, s.pid_start);
    if (s.node.empty()) q.bind(10, std::nullopt);
    else q.bind(10, s.node);
    auto id = q.returned_id();
    tx.commit();
    return id;
  } catch (const db::DbError& e) {
    return Error{std::string("the session journal cannot be written (") + e.what() + "); access refused"};
  }
}

Status SqliteSessionStore::finish(std::int64_t id, Seconds end, std::optional<int> exit_status,
                                  std::string_view status, std::string_view reason) {
  if (std::find(kFinalStatuses.begin(), kFinalStatuses.end(), status) == kFinalStatuses.end()) {
    return Error{"cannot finish session " + std::to_string(id) + " with status \"" + std::string(status) +
                 "\" (expected closed, aborted or refused)"};
  }
  try {
    db::Database::Transaction tx(*db_);
    auto current = session_status(*db_, id);
    if (!current) return Error{"no session " + std::to_string(id)};
    if (*current != "live") return Error{"session " + std::to_string(id) + " has already ended (" + *current + ")"};
    auto q = db_->prepare("UPDATE sessions SET ended_at = ?, exit_status = ?, status = ?, reason = ? WHERE id = ?");
    std::optional<std::int64_t> exit;
    if (exit_status) exit = *exit_status;
    q.bind(1, static_cast<std::int64_t>(to_unix(end))).bind(2, exit).bind(3, status).bind(4, reason).bind(5, id);
    q.step();
    tx.commit();
    return ok_status();
  } catch (const db::DbError& e) {
    return Error{"cannot record the end of session " + std::to_string(id) + ": " + e.what()};
  }
}

Status SqliteSessionStore::add_recording(std::int64_t session_id, int channel, const RecordingSummary& r,
                                         Seconds start, Seconds end) {
  if (!fits_int64(r.bytes_in) || !fits_int64(r.bytes_out) || !fits_int64(r.bytes_total_in) ||
      !fits_int64(r.bytes_total_out)) {
    return Error{"recording byte counts out of range"};
  }
  try {
    db::Database::Transaction tx(*db_);
    // Checked here rather than left to the foreign key, so the caller learns which id was wrong.
    if (!session_status(*db_, session_id)) return Error{"no session " + std::to_string(session_id)};
    auto q = db_->prepare(
        R"(INSERT INTO recordings (session_id, channel, kind, path, sha256, bytes_in, bytes_out, started_at, ended_at,
                                   truncated, bytes_total_in, bytes_total_out, stdin_sha256, stdout_sha256, stderr_sha256)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))");
    q.bind(1, session_id).bind(2, std::int64_t{channel}).bind(3, r.kind).bind(4, r.path).bind(5, r.sha256);
    q.bind(6, static_cast<std::int64_t>(r.bytes_in)).bind(7, static_cast<std::int64_t>(r.bytes_out));
    q.bind(8, static_cast<std::int64_t>(to_unix(start))).bind(9, static_cast<std::int64_t>(to_unix(end)));
    q.bind(10, std::int64_t{r.truncated ? 1 : 0}).bind(11, static_cast<std::int64_t>(r.bytes_total_in));
    q.bind(12, static_cast<std::int64_t>(r.bytes_total_out)).bind(13, r.stream_sha256.in);
    q.bind(14, r.stream_sha256.out).bind(15, r.stream_sha256.err);
    q.step();
    tx.commit();
    return ok_status();
  } catch (const db::DbError& e) {
    return Error{"cannot record the recording of session " + std::to_string(session_id) + ": " + e.what()};
  }
}

std::optional<SessionRow> SqliteSessionStore::find(std::int64_t id) {
  auto q = db_->prepare(select_sessions("WHERE id = ?"));
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return session_row(q);
}

std::vector<SessionRow> SqliteSessionStore::list() {
  auto q = db_->prepare(select_sessions("ORDER BY started_at, id"));
  std::vector<SessionRow> rows;
  while (q.step()) rows.push_back(session_row(q));
  return rows;
}

namespace {

// order_by: the ORDER BY of a sessions page, from the closed set of SessionOrder. Each key is an
// expression one of the indexes of migration 15 holds (the row id, the tie-breaker, comes with
// every index), so a page is read in index order and stops after its rows. kNoEnd sorts a session
// that has not ended after every ended one.
// sort_rows: the key as an expression no index holds ("+key" for a number, "key || ''" for a
// text: PostgreSQL has no unary plus on text), SQLite's hint that no index is to give the order:
// the matching rows are found first, by the filter's own index, then sorted.
std::string order_by(SessionOrder order, bool descending, bool sort_rows = false) {
  std::string key = "started_at";
  bool text = false;
  switch (order) {
    case SessionOrder::Start: key = "started_at"; break;
    case SessionOrder::End: key = "coalesce(ended_at, 9223372036854775807)"; break;
    case SessionOrder::Duration: key = "coalesce(ended_at - started_at, 9223372036854775807)"; break;
    case SessionOrder::Server: key = "server", text = true; break;
    case SessionOrder::Operator: key = "\"operator\"", text = true; break;
  }
  if (sort_rows) key = text ? "(" + key + " || '')" : "+" + key;
  const char* dir = descending ? " DESC" : " ASC";
  return " ORDER BY " + key + dir + ", id" + dir;
}

// PageWhere: the WHERE clause of a filter. Each condition names its one parameter as "?" (once or
// more); add numbers it (?1, ?2, … in the order added) and binds the value to that number.
struct PageWhere {
  std::string sql = "WHERE TRUE";  // TRUE, not 1: PostgreSQL wants a boolean
  std::vector<std::variant<std::string, std::int64_t>> params;
  void add(const std::string& condition, std::variant<std::string, std::int64_t> value) {
    params.push_back(std::move(value));
    const std::string number = "?" + std::to_string(params.size());
    sql += " AND ";
    for (char ch : condition) {
      if (ch == '?') sql += number;
      else sql += ch;
    }
  }
  // number: a parameter used outside the WHERE clause (in the SELECT list); returns its "?N".
  std::string number(std::variant<std::string, std::int64_t> value) {
    params.push_back(std::move(value));
    return "?" + std::to_string(params.size());
  }
  void bind(db::Statement& q) const {
    int n = 0;
    for (const auto& p : params) {
      ++n;
      if (const auto* i = std::get_if<std::int64_t>(&p)) q.bind(n, *i);
      else q.bind(n, std::string_view(std::get<std::string>(p)));
    }
  }
};

// How a page query reads a client's sessions (the client is always the one the chain states):
//   Drive    the chained ids drive the query (a count looks up just those rows);
//   Member   the chained ids only test membership ("+id"), so that SQLite walks the sort key's
//            index over every session and stops at the page;
//   Column   also "client = ?", so that SQLite walks the client's part of a (client, sort key) index
//            of migration 17: only when the count found that every session the chain gives the client
//            has that client in its row too, i.e. the column loses nobody (a row edited INTO the client
//            is kept out by the membership test either way).
enum class ClientScope { Drive, Member, Column };

// page_where: the filter as SQL.
PageWhere page_where(const SessionFilter& f, ClientScope scope) {
  PageWhere w;
  if (!f.client.empty() && scope == ClientScope::Column) w.add("client = ?", f.client);
  if (!f.server.empty()) w.add("server = ?", f.server);
  if (!f.operator_name.empty()) w.add("\"operator\" = ?", f.operator_name);
  if (f.since) w.add("started_at >= ?", std::int64_t{to_unix(*f.since)});
  if (f.until) w.add("started_at < ?", std::int64_t{to_unix(*f.until)});
  if (f.live_only) w.sql += " AND status = 'live'";
  if (!f.status.empty()) w.add("status = ?", f.status);
  if (!f.client.empty())
    w.add(std::string(scope == ClientScope::Drive ? "id" : "+id") + " IN (" + chained_sessions_of_client_indexed_sql("?") +
              ")",
          f.client);
  return w;
}

}  // namespace

// kSortBelow: up to this many matching sessions, a page sorts them rather than walk a sort index.
constexpr std::int64_t kSortBelow = 1000;

SessionPage SqliteSessionStore::page(const SessionPageQuery& q) {
  SessionPage out;
  // A client's list walks her (client, sort key) index when the chain's sessions of her client all
  // say that client in their row: as many such rows as the chain has start events for her (a
  // duplicate or a missing row makes the counts differ, and the page reads as before). Both counts
  // come from indexes alone; a client's count is then the rows' own when nothing else is filtered.
  bool by_column = false;
  const SessionFilter& f = q.filter;
  const bool filtered = !f.server.empty() || !f.operator_name.empty() || f.since || f.until || f.live_only ||
                        !f.status.empty();
  auto count_of = [&](const std::string& sql, const PageWhere& w) {
    auto c = db_->prepare(sql);
    w.bind(c);
    return c.step() ? c.col_int(0) : 0;
  };
  if (!f.client.empty()) {
    PageWhere chain;
    const std::string p = chain.number(f.client);
    const std::int64_t started = count_of("SELECT count(*) FROM (" + chained_sessions_of_client_indexed_sql(p) + ") AS started", chain);
    SessionFilter client_only;
    client_only.client = f.client;
    const PageWhere own = page_where(client_only, ClientScope::Column);
    const std::int64_t rows = count_of("SELECT count(*) FROM sessions " + own.sql, own);
    by_column = started == rows;
    if (by_column && !filtered) out.total = rows;
  }
  if (f.client.empty() || filtered || !by_column) {
    const PageWhere counted = page_where(f, by_column ? ClientScope::Column : ClientScope::Drive);
    out.total = count_of("SELECT count(*) FROM sessions " + counted.sql, counted);
  }
  // A page in the back half is read from the other end, the order reversed: OFFSET walks the
  // index up to the page, so no page walks more than half of it.
  std::int64_t offset = std::max<std::int64_t>(0, q.offset), limit = std::max<std::int64_t>(0, q.limit);
  bool descending = q.descending;
  const bool from_the_end = offset > out.total / 2 && offset < out.total;
  if (from_the_end) {
    limit = std::min(limit, out.total - offset);
    offset = out.total - offset - limit;
    descending = !descending;
  }
  // A filter that leaves few sessions (the live ones, the aborted ones of a client) is faster found
  // through its own index (or the chain's, for a client whose rows disagree) and sorted, than by
  // walking a sort index until enough of them turn up.
  const bool few = (filtered || !q.filter.client.empty()) && out.total <= kSortBelow;
  const std::string order = order_by(q.order, descending, few);
  // The page's ids first, from an index alone; then their rows.
  const PageWhere w =
      page_where(q.filter, by_column ? ClientScope::Column : few ? ClientScope::Drive : ClientScope::Member);
  auto rows = db_->prepare(select_sessions("WHERE id IN (SELECT id FROM sessions " + w.sql + order + " LIMIT ? OFFSET ?)" +
                                           order));
  w.bind(rows);
  const int n = static_cast<int>(w.params.size());
  rows.bind(n + 1, limit).bind(n + 2, offset);
  while (rows.step()) out.rows.push_back(session_row(rows));
  if (from_the_end) std::reverse(out.rows.begin(), out.rows.end());
  return out;
}

SessionTotals SqliteSessionStore::totals(const SessionFilter& f, Seconds now) {
  PageWhere w = page_where(f, ClientScope::Member);  // a period: the start index's range, tested for the client
  const std::string until_now = w.number(std::int64_t{to_unix(now)});
  auto q = db_->prepare("SELECT count(*), coalesce(sum(coalesce(ended_at, " + until_now + ") - started_at), 0) FROM sessions " +
                        w.sql);
  w.bind(q);
  SessionTotals t;
  if (q.step()) t = {q.col_int(0), q.col_int(1)};
  return t;
}

std::optional<SessionRow> SessionCursor::next() {
  if (!q_.step()) return std::nullopt;
  return session_row(q_);
}

SessionCursor SqliteSessionStore::by_start(const SessionFilter& f) {
  const PageWhere w = page_where(f, ClientScope::Member);
  auto q = db_->prepare(select_sessions(w.sql + " ORDER BY started_at, id"));
  w.bind(q);
  return SessionCursor(db_, std::move(q));
}

std::vector<SessionRow> SqliteSessionStore::live_rows() {
  auto q = db_->prepare(select_sessions("WHERE status = 'live' ORDER BY started_at, id"));
  std::vector<SessionRow> rows;
  while (q.step()) rows.push_back(session_row(q));
  return rows;
}

namespace {

RecordingRow recording_row(db::Statement& q) {
  RecordingRow r;
  r.id = q.col_int(0);
  r.session_id = q.col_int(1);
  r.channel = static_cast<int>(q.col_int(2));
  r.summary = RecordingSummary{q.col_text(4), q.col_text(3), q.col_text(5), static_cast<std::uint64_t>(q.col_int(6)),
                               static_cast<std::uint64_t>(q.col_int(7))};
  r.start = from_unix(q.col_int(8));
  r.end = from_unix(q.col_int(9));  // NULL reads as 0; add_recording always sets it
  r.summary.truncated = q.col_int(10) != 0;
  r.summary.bytes_total_in = static_cast<std::uint64_t>(q.col_int(11));
  r.summary.bytes_total_out = static_cast<std::uint64_t>(q.col_int(12));
  r.summary.stream_sha256 = {q.col_text(13), q.col_text(14), q.col_text(15)};
  return r;
}

}  // namespace

std::vector<RecordingRow> SqliteSessionStore::recordings_of(std::int64_t session_id) {
  // Rows from before migration 4 have no totals: nothing was capped, so they are the stored counts.
  auto q = db_->prepare(
      "SELECT id, session_id, channel, kind, path, sha256, bytes_in, bytes_out, started_at, ended_at, truncated, "
      "COALESCE(bytes_total_in, bytes_in), COALESCE(bytes_total_out, bytes_out), stdin_sha256, stdout_sha256, "
      "stderr_sha256 FROM recordings WHERE session_id = ? ORDER BY id");
  q.bind(1, session_id);
  std::vector<RecordingRow> rows;
  while (q.step()) rows.push_back(recording_row(q));
  return rows;
}

Status SqliteSessionStore::request_kill(std::int64_t id, std::string_view by, Seconds at) {
  const std::string session = "session " + std::to_string(id);
  try {
    db::Database::Transaction tx(*db_);
    auto current = session_status(*db_, id);
    if (!current) return Error{"no " + session};
    if (*current != "live") return Error{session + " has already ended (" + *current + ")"};
    if (auto pending = kill_request(id)) {
      return Error{"a kill of " + session + " was already requested by " + pending->by + " at " +
                   authz::format_utc(pending->at) + "; its process ends it within a second"};
    }
    auto q = db_->prepare("UPDATE sessions SET kill_requested_by = ?, kill_requested_at = ? WHERE id = ?");
    q.bind(1, by).bind(2, static_cast<std::int64_t>(to_unix(at))).bind(3, id);
    q.step();
    tx.commit();
    return ok_status();
  } catch (const db::DbError& e) {
    return Error{"cannot record the kill request of " + session + ": " + e.what()};
  }
}

std::optional<KillRequest> SqliteSessionStore::kill_request(std::int64_t id) {
  auto q = db_->prepare("SELECT kill_requested_by, kill_requested_at FROM sessions WHERE id = ?");
  q.bind(1, id);
  if (!q.step() || q.col_null(1)) return std::nullopt;
  return KillRequest{q.col_text(0), from_unix(q.col_int(1))};
}

SessionStorePtr open_sqlite_session_store(db::DatabasePtr db) {
  return std::make_unique<SqliteSessionStore>(std::move(db));
}

}  // namespace bastion::audit
