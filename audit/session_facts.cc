#include "audit/session_facts.h"

#include <nlohmann/json.hpp>

#include "audit/session_query.h"
#include "audit/sql_evidence_store.h"
#include "audit/sqlite_event_log.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

std::optional<std::string> text_of(const Json& d, const char* key) {
  if (!d.is_object() || !d.contains(key) || !d[key].is_string()) return std::nullopt;
  return d[key].get<std::string>();
}

std::optional<std::int64_t> int_of(const Json& d, const char* key) {
  if (!d.is_object() || !d.contains(key) || !d[key].is_number_integer()) return std::nullopt;
  return d[key].get<std::int64_t>();
}

ChainedStart start_of(const StoredEvent& e) {
  const Json& d = e.event.details;
  ChainedStart s{e.id, e.event.actor, e.event.server, e.event.source, text_of(d, "login"), text_of(d, "client"),
                 int_of(d, "grant"), false, int_of(d, "started_at")};
  s.grant_stated = d.is_object() && d.contains("grant") && (d["grant"].is_number_integer() || d["grant"].is_null());
  return s;
}

std::vector<StoredEvent> events_of(db::Database& db, const char* kind) {
  EventFilter f;
  f.kind = kind;
  return list_events(db, f);
}

}  // namespace

bool states_session_facts(std::string_view kind) {
  return kind == "session.start" || kind == "session.end" || kind == "session.recovered" || kind == "session.aborted";
}

namespace {

// add_fact folds one session event (in event order) into what the chain states of its session.
void add_fact(ChainedSession& s, const StoredEvent& e) {
  const std::string& kind = e.event.kind;
  const Json& d = e.event.details;
  if (kind == "session.start") {
    if (!s.start) s.start = start_of(e);
  } else if (states_session_facts(kind)) {
    s.ends.push_back({e.id, kind, kind == "session.aborted" ? std::optional<std::string>("aborted") : text_of(d, "status"),
                      int_of(d, "ended_at")});
    if (d.is_object() && d.contains("recording") && d["recording"].is_object()) {
      const Json& r = d["recording"];
      s.recordings.push_back({e.id, text_of(r, "path").value_or(""), text_of(r, "sha256").value_or("")});
    }
  }
}

}  // namespace

std::map<std::int64_t, ChainedSession> chained_sessions(db::Database& db) {
  std::map<std::int64_t, ChainedSession> out;
  for (const auto& e : events_of(db, "session")) {
    if (e.event.session_id) add_fact(out[*e.event.session_id], e);
  }
  return out;
}

std::optional<ChainedSession> chained_session(db::Database& db, std::int64_t session_id) {
  EventFilter f;
  f.kind = "session";
  f.session_id = session_id;
  const auto events = list_events(db, f);  // the events_by_session index: this session's events only
  if (events.empty()) return std::nullopt;
  ChainedSession s;
  for (const auto& e : events) add_fact(s, e);
  return s;
}

std::optional<std::string> chained_client_of(db::Database& db, std::int64_t session_id) {
  EventFilter f;
  f.kind = "session.start";
  f.session_id = session_id;
  const auto starts = list_events(db, f);
  if (starts.empty()) return std::nullopt;
  const StoredEvent* first = &starts.front();  // the first start, as chained_clients() takes it
  for (const auto& e : starts)
    if (e.id < first->id) first = &e;
  if (auto client = text_of(first->event.details, "client")) return client;
  const auto by_server = server_clients(db);
  if (auto it = by_server.find(first->event.server); it != by_server.end()) return it->second;
  return std::nullopt;
}

std::map<std::int64_t, std::string> chained_clients(db::Database& db) {
  const auto by_server = server_clients(db);
  std::map<std::int64_t, std::string> out;
  for (const auto& e : events_of(db, "session.start")) {
    if (!e.event.session_id || out.count(*e.event.session_id) != 0) continue;
    if (auto client = text_of(e.event.details, "client")) {
      out[*e.event.session_id] = *client;
    } else if (auto it = by_server.find(e.event.server); it != by_server.end()) {
      out[*e.event.session_id] = it->second;
    }
  }
  return out;
}

PurgedEvidence purged_evidence(db::Database& db) {
  PurgedEvidence p;
  // SqlEvidenceStore::purge_events, not events_of: its query is answered by the partial index of
  // the purge events, where events_of's prefix match would read every event.
  for (const auto& [id, details] : SqlEvidenceStore(db).purge_events()) {
    const Json d = Json::parse(details, nullptr, false);
    if (!d.is_object()) continue;
    auto ids = [&](const char* key, std::set<std::int64_t>& into) {
      if (!d.contains(key) || !d[key].is_array()) return;
      for (const auto& v : d[key])
        if (v.is_number_integer()) into.insert(v.get<std::int64_t>());
    };
    ids("sessions", p.sessions);
    ids("session_events", p.session_events);
    if (d.contains("recordings") && d["recordings"].is_array()) {
      for (const auto& r : d["recordings"]) {
        if (auto session = int_of(r, "session_id"); session && text_of(r, "path"))
          p.recordings.insert({*session, *text_of(r, "path")});
      }
    }
  }
  return p;
}

}  // namespace bastion::audit
