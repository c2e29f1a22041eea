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
#include "audit/sql_evidence_store.h"
#include "audit/sqlite_event_log.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

std::int64_t cutoff(Seconds now, int days) {
  return static_cast<std::int64_t>(to_unix(now - std::chrono::days(days)));
}

// Doomed collects what one run destroys, then deletes it in one go.
class Doomed {
 public:
  Doomed(EvidenceStore& store, Seconds now) : store_(store), now_(now) {}

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

  EvidenceStore& store_;
  Seconds now_;
  std::map<std::int64_t, PurgedRecording> recordings_;
  std::map<std::int64_t, std::string> events_;  // id → hash
  std::set<std::int64_t> sessions_;
  std::set<std::int64_t> requests_;
  std::set<std::int64_t> session_events_;  // sessions whose start or end event is deleted
  std::map<std::int64_t, std::string> notes_;  // session id → note about its purged recordings
};

std::int64_t Doomed::recordings_before(const std::string& client, std::int64_t before, bool note, int days) {
  std::int64_t n = 0;
  for (const auto& row : store_.recordings_of_client_before(client, before)) {
    PurgedRecording r{row.id, row.session_id, row.path};
    if (note) {
      notes_[r.session_id] = "recordings purged " + iso8601_utc(now_) + " (" + std::to_string(days) + "-day retention)";
    }
    n += recordings_.emplace(r.id, r).second ? 1 : 0;
  }
  return n;
}

std::int64_t Doomed::events_before(const std::string& client, std::int64_t before) {
  std::int64_t n = 0;
  for (const auto& e : store_.events_of_client_before(client, before)) {
    n += events_.emplace(e.id, e.hash).second ? 1 : 0;
    if (e.session_id && states_session_facts(e.kind)) session_events_.insert(*e.session_id);
  }
  return n;
}

std::int64_t Doomed::all_sessions(const std::string& client) {
  std::int64_t n = 0;
  for (std::int64_t id : store_.sessions_of_client(client)) n += sessions_.insert(id).second ? 1 : 0;
  return n;
}

std::int64_t Doomed::requests_before(const std::string& client, std::int64_t before) {
  std::int64_t n = 0;
  for (std::int64_t id : store_.requests_of_client_ended_before(client, before)) n += requests_.insert(id).second ? 1 : 0;
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

void Doomed::delete_rows() {
  for (const auto& [id, r] : recordings_) store_.delete_recording(id);
  for (const auto& [id, hash] : events_) store_.delete_event(id);
  for (const auto& [session, note] : notes_) {
    if (sessions_.count(session) == 0) store_.note_on_session(session, note);
  }
  for (std::int64_t id : sessions_) store_.delete_session(id);
  for (std::int64_t id : requests_) store_.delete_request(id);
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

// delete_file unlinks the purged recording's file if it lies in dir; false (and a problem) if it
// lies elsewhere or cannot be deleted. A file already gone is deleted.
bool delete_file(const PurgedRecording& r, const std::string& dir, std::vector<std::string>& problems) {
  // (A sweep knows a purged recording by its session and path only: id 0.)
  const std::string which = (r.id != 0 ? "recording " + std::to_string(r.id) : std::string("a recording")) +
                            " of session " + std::to_string(r.session_id);
  const auto folder = dir.empty() ? std::nullopt : folder_in(r.path, dir);
  if (!folder) {
    problems.push_back(which + ": " + r.path + " is not inside the recordings directory '" + dir +
                       "'; its row was purged but the file was left alone (a node whose recordings directory "
                       "holds it removes it at its next retention run; otherwise delete it by hand if it is one)");
    return false;
  }
  if (::unlink(r.path.c_str()) != 0 && errno != ENOENT) {
    problems.push_back(which + ": " + errno_text("cannot delete " + r.path));
    return false;
  }
  // The session's own directory goes once empty (rmdir fails harmlessly otherwise); dir itself stays.
  if (*folder != ".") ::rmdir(fs::path(r.path).parent_path().c_str());
  return true;
}

}  // namespace

PurgeReport purge(db::Database& db, const Clock& clock, const std::string& recordings_dir, const std::string& actor) {
  const Seconds now = clock.now();
  db::Database::Transaction tx(db);
  SqlEvidenceStore store(db);
  Doomed doomed(store, now);
  std::vector<ClientPurge> clients;
  for (const auto& terms : store.client_terms()) {
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
    report.problems.push_back("the database still holds a copy of the destroyed data keys (SQLite: in its "
                              "write-ahead log, which another process is reading; PostgreSQL: old row versions "
                              "VACUUM could not drop now); it is overwritten as the bastion goes on");
  return report;
}

SweepReport sweep_purged_recordings(db::Database& db, const std::string& recordings_dir) {
  SweepReport report;
  if (recordings_dir.empty()) return report;
  SqlEvidenceStore store(db);
  std::optional<std::set<std::string>> named;  // every path a recordings row names, read once if needed
  for (const auto& [session_id, path] : purged_evidence(db).recordings) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)) || !folder_in(path, recordings_dir)) continue;
    // Still someone's: a row names the file, or its session (an id SQLite gave again) is live.
    if (!named) {
      named.emplace();
      for (auto& f : store.recording_facts(std::nullopt)) named->insert(std::move(f.path));
    }
    if (named->count(path) != 0) continue;
    const auto sessions = store.session_rows(session_id);
    if (!sessions.empty() && sessions.front().status == "live") continue;
    if (delete_file({0, session_id, path}, recordings_dir, report.problems)) report.deleted.push_back(path);
  }
  return report;
}

}  // namespace bastion::audit
