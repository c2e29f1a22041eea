#pragma once
// Row readers and text helpers shared by the SqliteStore source files (sqlite_store.cc and
// sqlite_store_changes.cc). Internal to authz/: nothing outside the SQLite store includes this.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz/db.h"
#include "authz/model.h"

namespace bastion::authz::sqlite_rows {

std::string join(const std::vector<std::string>& parts, std::string_view sep);
// split_ops splits grants.ops ("shell,status") and servers.allowed_env, skipping empty parts.
std::vector<std::string> split_ops(std::string_view s);
std::string quoted(std::string_view s);
// format_span renders a duration in the largest whole unit: "30d", "4h", "90s".
std::string format_span(std::chrono::seconds d);

constexpr std::string_view kOperatorColumns = "SELECT id, name, role, client, disabled, totp_secret FROM operators";
// Removed servers (removed_at set) keep their row for history; queries for live ones add kLiveServer.
constexpr std::string_view kServerColumns = "SELECT id, name, host, port, client, kind, host_key, allowed_env, egress FROM servers";
constexpr std::string_view kLiveServer = "removed_at IS NULL";
constexpr std::string_view kEntryColumns = "SELECT id, server_id, name, type, pattern, direction, path FROM catalogue";
constexpr std::string_view kKeyColumns =
    "SELECT id, operator_id, type, base64, comment, fingerprint FROM operator_keys";
constexpr std::string_view kGrantColumns =
    "SELECT g.id, g.operator_id, o.name, g.server_id, s.name, g.login, g.ops, g.not_before, g.not_after,"
    " g.reason, g.granted_by, g.revoked_at, g.created_at, g.emergency"
    " FROM grants g JOIN operators o ON o.id = g.operator_id JOIN servers s ON s.id = g.server_id";

// Each read_* reads the columns of its k*Columns, in that order. An unknown enum value throws
// db::DbError: the CHECK constraints make it unreachable unless the file was edited behind our back.
Operator read_operator(const db::Statement& s);
Server read_server(const db::Statement& s);
CatalogueEntry read_entry(const db::Statement& s);
OperatorKey read_key(const db::Statement& s);
Grant read_grant(const db::Statement& s);

template <typename T, typename Reader>
std::vector<T> read_all(db::Statement& s, Reader read) {
  std::vector<T> out;
  while (s.step()) out.push_back(read(s));
  return out;
}

template <typename T, typename Reader>
std::optional<T> read_one(db::Statement& s, Reader read) {
  if (!s.step()) return std::nullopt;
  return read(s);
}

}  // namespace bastion::authz::sqlite_rows
