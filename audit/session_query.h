#pragma once
// Session queries for review: sessions filtered by server, operator, client and time, each with the
// client it belongs to (its own `client` column, or its server's client when that is empty).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
};

// server_clients maps each server's name to its client. Throws db::DbError.
std::map<std::string, std::string> server_clients(db::Database& db);

// client_of returns the client session `s` belongs to.
std::string client_of(const SessionRow& s, const std::map<std::string, std::string>& server_clients);

// find_sessions returns the matching sessions, oldest first. Throws db::DbError.
std::vector<SessionRow> find_sessions(const db::DatabasePtr& db, const SessionFilter& f);

// session_json: the one JSON shape of a session row (sessions list --json, client export):
// id, operator, server, login, client, source, grant_id, start, end, status, exit_status, reason,
// and pid (the session process that served it: what an operator of the host kills or traces).
nlohmann::json session_json(const SessionRow& s, const std::string& client);

}  // namespace bastion::audit
