#include "audit/retention.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "audit/client_terms.h"
#include "audit/data_keys.h"
#include "audit/event_chain.h"
#include "audit/fd_io.h"
#include "audit/session_facts.h"
#include "audit/sqlite_event_log.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

// The sessions of client ?1: those whose chained session.start names it (audit/session_facts.h;
// starts from before clients were stated: its server's client), so that an edited row neither
// drags another client's session into this purge nor keeps one out of it. Rows with no chained
// start at all (their start could not be recorded) go by their own columns.
std::string client_sessions() {
  return "SELECT id FROM sessions WHERE id IN (" + chained_sessions_of_client_sql("?1") + ") " +
         "OR (id NOT IN (SELECT session_id FROM events WHERE kind = 'session.start' AND session_id IS NOT NULL) AND "
         "(client = ?1 OR server IN (SELECT name FROM servers WHERE client = ?1)))";
}

// The access requests of client ?1 that ended before ?2 (audit/retention.h): decided, and ended
// by their decision or by the end of their grant. A pending request (even one past its deadline
// that no command has settled yet) or an approved one whose grant runs on past ?2 stays.
constexpr std::string_view kEndedRequests =
    "SELECT r.id FROM access_requests r JOIN servers s ON s.id = r.server_id LEFT JOIN grants g ON g.id = r.grant_id "
    "WHERE s.client = ?1 AND r.status <> 'pending' AND "
    "(CASE r.status WHEN 'approved' THEN min(coalesce(g.revoked_at, g.not_after), g.not_after) "
    "ELSE r.decided_at END) < ?2 ORDER BY r.id";

std::int64_t cutoff(Seconds now, int days) {
  return static_cast<std::int64_t>(to_unix(now - std::chrono::days(days)));
}

// Doomed collects what one run destroys, then deletes it in one go.
class Doomed {
 public:
  Doomed(db::Database& db, Seconds now) : db_(db), now_(now) {}

  ClientPurge apply(const ClientTerms& t);
  Json details(const std::vector<ClientPurge>& clients) const;
  void delete_rows();
  PurgeReport report() const;

 private:
  std::int64_t recordings_before(const std::string& client, std::int64_t before, bool note, int days);
  std::int64_t events_before(const std::string& client, std::int64_t before);
  std::int64_t all_sessions(const std::string& client);
  std::int64_t requests_before(const std::string& client, std::int64_t before);
  Json purged_runs() const;

  db::Database& db_;
  Seconds now_;
  std::map<std::int64_t, PurgedRecording> recordings_;
  std::map<std::int64_t, std::string> events_;  // id → hash
  std::set<std::int64_t> sessions_;
  std::set<std::int64_t> requests_;
  std::set<std::int64_t> session_events_;  // sessions whose start or end event is deleted
  std::map<std::int64_t, std::string> notes_;  // session id → note about its purged recordings
};

std::int64_t Doomed::recordings_before(const std::string& client, std::int64_t before, bool note, int days) {
  auto q = db_.prepare("SELECT id, session_id, path FROM recordings WHERE session_id IN (" + client_sessions() +
                       ") AND coalesce(ended_at, started_at) < ?2 ORDER BY id");
  q.bind(1, client).bind(2, before);
  std::int64_t n = 0;
  while (q.step()) {
    PurgedRecording r{q.col_int(0), q.col_int(1), q.col_text(2)};
    if (note) {
      notes_[r.session_id] = "recordings purged " + iso8601_utc(now_) + " (" + std::to_string(days) + "-day retention)";
    }
    n += recordings_.emplace(r.id, r).second ? 1 : 0;
  }
  return n;
}

std::int64_t Doomed::events_before(const std::string& client, std::int64_t before) {
  auto q = db_.prepare(
      "SELECT id, hash, session_id, kind FROM events WHERE (server IN (SELECT name FROM servers WHERE client = ?1) OR "
      "session_id IN (" + client_sessions() + ")) AND at < ?2 ORDER BY id");
  q.bind(1, client).bind(2, before);
  std::int64_t n = 0;
  while (q.step()) {
    n += events_.emplace(q.col_int(0), q.col_text(1)).second ? 1 : 0;
    if (!q.col_null(2) && states_session_facts(q.col_text(3))) session_events_.insert(q.col_int(2));
  }
  return n;
}

std::int64_t Doomed::all_sessions(const std::string& client) {
  auto q = db_.prepare(client_sessions() + " ORDER BY id");
  q.bind(1, client);
  std::int64_t n = 0;
  while (q.step()) n += sessions_.insert(q.col_int(0)).second ? 1 : 0;
  return n;
}

std::int64_t Doomed::requests_before(const std::string& client, std::int64_t before) {
  auto q = db_.prepare(kEndedRequests);
  q.bind(1, client).bind(2, before);
  std::int64_t n = 0;
  while (q.step()) n += requests_.insert(q.col_int(0)).second ? 1 : 0;
  return n;
}

ClientPurge Doomed::apply(const ClientTerms& t) {
  ClientPurge p{t.name};
  const auto destroy_at = t.destruction_at();
  if (destroy_at && now_ >= *destroy_at) {
    p.contract_ended = true;
    p.recordings = recordings_before(t.name, kForever, false, 0);
    p.events = events_before(t.name, kForever);
    p.sessions = all_sessions(t.name);
    // "Ended before now": a live grant's request stays with the grant, whatever the contract says.
    p.requests = requests_before(t.name, static_cast<std::int64_t>(to_unix(now_)));
    return p;
  }
  if (t.recording_retention_days) {
    p.recordings = recordings_before(t.name, cutoff(now_, *t.recording_retention_days), true,
                                     *t.recording_retention_days);
  }
  if (t.event_retention_days) {
    const auto before = cutoff(now_, *t.event_retention_days);
    p.events = events_before(t.name, before);
    p.requests = requests_before(t.name, before);
  }
  return p;
}

Json Doomed::purged_runs() const {
  Json runs = Json::array();
  for (auto it = events_.begin(); it != events_.end();) {
    auto last = it;
    for (auto next = std::next(it); next != events_.end() && next->first == last->first + 1; ++next) last = next;
    runs.push_back({{"from", it->first}, {"to", last->first}, {"last_hash", last->second}});
    it = std::next(last);
  }
  return runs;
}

Json Doomed::details(const std::vector<ClientPurge>& clients) const {
  Json by_client = Json::object();
  for (const auto& c : clients) {
    by_client[c.client] = {{"recordings", c.recordings}, {"events", c.events}, {"sessions", c.sessions},
                           {"requests", c.requests}, {"contract_ended", c.contract_ended}};
    if (!c.data_key_destroyed.empty()) by_client[c.client]["data_key_destroyed"] = c.data_key_destroyed;
  }
  Json recordings = Json::array();
  for (const auto& [id, r] : recordings_) {
    recordings.push_back({{"id", id}, {"session_id", r.session_id}, {"path", r.path}});
  }
  return {{"clients", by_client},
          {"recordings", recordings},
          {"sessions", Json(sessions_)},
          {"requests", Json(requests_)},
          {"session_events", Json(session_events_)},
          {"events", static_cast<std::int64_t>(events_.size())},
          {"purged_events", purged_runs()}};
}

// destroy_key_of destroys the client's data key if it still has one; returns its id, or "".
std::string destroy_key_of(db::Database& db, const std::string& client, Seconds now, const std::string& actor) {
  const auto key = find_client_key(db, client);
  if (!key || key->destroyed()) return "";
  auto destroyed = destroy_client_key(db, client, now, actor);
  return destroyed ? destroyed->key_id : "";
}

void delete_by_id(db::Database& db, const std::string& table, std::int64_t id) {
  db.prepare("DELETE FROM " + table + " WHERE id = ?").bind(1, id).step();
}

void Doomed::delete_rows() {
  for (const auto& [id, r] : recordings_) delete_by_id(db_, "recordings", id);
  for (const auto& [id, hash] : events_) delete_by_id(db_, "events", id);
  for (const auto& [session, note] : notes_) {
    if (sessions_.count(session) != 0) continue;
    db_.prepare("UPDATE sessions SET reason = CASE WHEN reason = '' THEN ?1 ELSE reason || '; ' || ?1 END "
                "WHERE id = ?2")
        .bind(1, note)
        .bind(2, session)
        .step();
  }
  for (std::int64_t id : sessions_) delete_by_id(db_, "sessions", id);
  for (std::int64_t id : requests_) {
    db_.prepare("DELETE FROM request_approvals WHERE request_id = ?").bind(1, id).step();
    delete_by_id(db_, "access_requests", id);
  }
}

PurgeReport Doomed::report() const {
  PurgeReport r;
  for (const auto& [id, rec] : recordings_) r.recordings.push_back(rec);
  r.sessions.assign(sessions_.begin(), sessions_.end());
  r.requests.assign(requests_.begin(), requests_.end());
  r.events = static_cast<std::int64_t>(events_.size());
  return r;
}

// folder_in returns the directory of `path` relative to `dir` ("." for dir itself), after resolving
// symbolic links in both; nullopt if path does not lie under dir.
std::optional<fs::path> folder_in(const std::string& path, const std::string& dir) {
  std::error_code ec;
  const fs::path base = fs::canonical(dir, ec);
  if (ec) return std::nullopt;
  const fs::path parent = fs::weakly_canonical(fs::path(path).parent_path(), ec);
  if (ec) return std::nullopt;
  auto rel = parent.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel;
}

void delete_file(const PurgedRecording& r, const std::string& dir, std::vector<std::string>& problems) {
  const std::string which = "recording " + std::to_string(r.id) + " of session " + std::to_string(r.session_id);
  const auto folder = dir.empty() ? std::nullopt : folder_in(r.path, dir);
  if (!folder) {
    problems.push_back(which + ": " + r.path + " is not inside the recordings directory '" + dir +
                       "'; its row was purged but the file was left alone, delete it by hand if it is one");
    return;
  }
  if (::unlink(r.path.c_str()) != 0 && errno != ENOENT) {
    problems.push_back(which + ": " + errno_text("cannot delete " + r.path));
    return;
  }
  // The session's own directory goes once empty (rmdir fails harmlessly otherwise); dir itself stays.
  if (*folder != ".") ::rmdir(fs::path(r.path).parent_path().c_str());
}

}  // namespace

PurgeReport purge(db::Database& db, const Clock& clock, const std::string& recordings_dir, const std::string& actor) {
  const Seconds now = clock.now();
  db::Database::Transaction tx(db);
  Doomed doomed(db, now);
  std::vector<ClientPurge> clients;
  for (const auto& terms : list_client_terms(db)) {
    ClientPurge p = doomed.apply(terms);
    if (const auto end = terms.destruction_at(); end && *end <= now) p.data_key_destroyed = destroy_key_of(db, terms.name, now, actor);
    if (p.recordings + p.events + p.sessions + p.requests > 0 || !p.data_key_destroyed.empty()) clients.push_back(p);
  }
  const Event what{now, "retention.purge", actor, "", "", std::nullopt, doomed.details(clients)};
  const StoredEvent purge_event = chain_append(db, what);
  doomed.delete_rows();
  tx.commit();
  PurgeReport report = doomed.report();
  report.purge_event_id = purge_event.id;
  report.clients = std::move(clients);
  for (const auto& r : report.recordings) delete_file(r, recordings_dir, report.problems);
  const bool destroyed_keys = std::any_of(report.clients.begin(), report.clients.end(),
                                          [](const ClientPurge& c) { return !c.data_key_destroyed.empty(); });
  if (destroyed_keys && !scrub_after_destroy(db))
    report.problems.push_back("the database's write-ahead log still holds pages from before the data keys were "
                              "destroyed (another process is reading it); it is overwritten as the bastion goes on");
  return report;
}

}  // namespace bastion::audit
