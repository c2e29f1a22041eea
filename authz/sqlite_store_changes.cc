// SqliteStore: the officer's changes after registration — removing keys, resetting TOTP, changing
// or retiring servers, pruning catalogues, who has access now, and the bastion-wide settings.
// Each write runs in a db::Database::Transaction (a savepoint when inside begin_change()).
#include <algorithm>
#include <charconv>

#include "authz/decide.h"
#include "authz/env_policy.h"
#include "authz/sqlite_rows.h"
#include "authz/sqlite_store.h"

namespace bastion::authz {
namespace {

using namespace sqlite_rows;  // NOLINT(google-build-using-namespace): the store's own helpers

constexpr std::string_view kMaxGrantSetting = "max-grant-duration";
constexpr std::chrono::seconds kShortestMaxGrant = std::chrono::minutes(1);
constexpr std::chrono::seconds kLongestMaxGrant = std::chrono::hours(24 * 366);

class SqliteChange final : public Change {
 public:
  explicit SqliteChange(db::Database& db) : tx_(db) {}
  void commit() override { tx_.commit(); }

 private:
  db::Database::Transaction tx_;
};

// grant_summaries: "grant 3 (alice as root until 2026-11-23 14:00:00 UTC), grant 5 (…)".
std::string grant_summaries(const std::vector<Grant>& grants) {
  std::vector<std::string> parts;
  for (const auto& g : grants) {
    parts.push_back("grant " + std::to_string(g.id) + " (" + g.operator_name + " as " + g.login + " until " +
                    format_utc(g.not_after) + ")");
  }
  return join(parts, ", ");
}

std::vector<Grant> naming(const std::vector<Grant>& grants, std::string_view op) {
  std::vector<Grant> out;
  for (const auto& g : grants) {
    if (std::find(g.ops.begin(), g.ops.end(), op) != g.ops.end()) out.push_back(g);
  }
  return out;
}

std::string fingerprints(const std::vector<OperatorKey>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.fingerprint);
  return out.empty() ? "it has none" : "its keys: " + join(out, ", ");
}

}  // namespace

ChangePtr SqliteStore::begin_change() { return std::make_unique<SqliteChange>(*db_); }

// ---------------------------------------------------------------- operators

Result<OperatorKey> SqliteStore::remove_key(std::string_view operator_name, std::string_view fingerprint) {
  db::Database::Transaction tx(*db_);
  const auto who = find_operator(operator_name);
  if (!who) return Error{"unknown operator " + quoted(operator_name)};
  const auto keys = keys_of(who->id);
  const auto key = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.fingerprint == fingerprint; });
  if (key == keys.end()) {
    return Error{"operator " + quoted(who->name) + " has no key " + std::string(fingerprint) + " (" +
                 fingerprints(keys) + ")"};
  }
  db_->prepare("DELETE FROM operator_keys WHERE id = ?").bind(1, key->id).step();
  tx.commit();
  return *key;
}

Status SqliteStore::reset_totp(std::string_view operator_name, std::string_view new_secret) {
  if (new_secret.empty()) return Error{"the new TOTP secret is empty"};
  db_->prepare("UPDATE operators SET totp_secret = ?, totp_last_step = -1 WHERE name = ?")
      .bind(1, new_secret)
      .bind(2, operator_name)
      .step();
  if (db_->changes() != 1) return Error{"unknown operator " + quoted(operator_name)};
  return ok_status();
}

// ---------------------------------------------------------------- servers and catalogues

Result<CatalogueEntry> SqliteStore::remove_catalogue_entry(std::string_view server_name, std::string_view op) {
  db::Database::Transaction tx(*db_);
  const auto server = find_server(server_name);
  if (!server) return Error{"unknown server " + quoted(server_name)};
  const auto catalogue = catalogue_of(server->id);
  const auto entry = std::find_if(catalogue.begin(), catalogue.end(), [&](const auto& e) { return e.name == op; });
  if (entry == catalogue.end()) return Error{server->name + " has no catalogue entry " + quoted(op)};
  if (const auto users = naming(unexpired_grants(server->id, clock_.now()), op); !users.empty()) {
    return Error{"catalogue entry " + quoted(op) + " of " + server->name + " is still granted by " +
                 grant_summaries(users) + "; revoke those grants or wait until they end"};
  }
  db_->prepare("DELETE FROM catalogue WHERE id = ?").bind(1, entry->id).step();
  tx.commit();
  return *entry;
}

Result<std::vector<Grant>> SqliteStore::set_server_kind(std::string_view name, ServerKind kind, Seconds at) {
  db::Database::Transaction tx(*db_);
  const auto server = find_server(name);
  if (!server) return Error{"unknown server " + quoted(name)};
  if (server->kind == kind) return Error{"server " + server->name + " is already " + to_string(kind)};
  std::vector<Grant> revoked;
  if (kind == ServerKind::Shared) revoked = unexpired_grants(server->id, at);
  revoke_all(revoked, at);
  db_->prepare("UPDATE servers SET kind = ? WHERE id = ?").bind(1, to_string(kind)).bind(2, server->id).step();
  tx.commit();
  return revoked;
}

Status SqliteStore::set_host_key(std::string_view name, std::string_view host_key) {
  if (host_key.empty()) return Error{"the host key is empty"};
  db::Database::Transaction tx(*db_);
  const auto server = find_server(name);
  if (!server) return Error{"unknown server " + quoted(name)};
  if (server->host_key == host_key) return Error{"server " + server->name + " already pins this host key"};
  db_->prepare("UPDATE servers SET host_key = ? WHERE id = ?").bind(1, host_key).bind(2, server->id).step();
  tx.commit();
  return ok_status();
}

Status SqliteStore::set_egress_mode(std::string_view name, EgressMode mode) {
  db::Database::Transaction tx(*db_);
  const auto server = find_server(name);
  if (!server) return Error{"unknown server " + quoted(name)};
  if (server->egress == mode) return Error{"server " + server->name + " already uses " + to_string(mode) + " egress"};
  db_->prepare("UPDATE servers SET egress = ? WHERE id = ?").bind(1, to_string(mode)).bind(2, server->id).step();
  tx.commit();
  return ok_status();
}

Status SqliteStore::set_allowed_env(std::string_view name, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (auto why = unallowable_env_name(n)) return Error{"cannot allow " + *why};
  db::Database::Transaction tx(*db_);
  const auto server = find_server(name);
  if (!server) return Error{"unknown server " + quoted(name)};
  db_->prepare("UPDATE servers SET allowed_env = ? WHERE id = ?").bind(1, join(names, ",")).bind(2, server->id).step();
  tx.commit();
  return ok_status();
}

Result<std::vector<Grant>> SqliteStore::remove_server(std::string_view name, bool force, Seconds at) {
  db::Database::Transaction tx(*db_);
  const auto server = find_server(name);
  if (!server) return Error{"unknown server " + quoted(name)};
  auto live = unexpired_grants(server->id, at);
  if (!live.empty() && !force) {
    return Error{"server " + server->name + " still has " + grant_summaries(live) +
                 "; revoke them first, or remove with --force, which revokes them"};
  }
  revoke_all(live, at);
  db_->prepare("UPDATE servers SET removed_at = ? WHERE id = ?").bind(1, to_unix(at)).bind(2, server->id).step();
  tx.commit();
  return live;
}

// ---------------------------------------------------------------- grants

std::vector<Grant> SqliteStore::unexpired_grants(std::int64_t server_id, Seconds now) {
  auto s = db_->prepare(std::string(kGrantColumns) +
                        " WHERE g.server_id = ? AND g.revoked_at IS NULL AND g.not_after > ? ORDER BY g.id");
  s.bind(1, server_id).bind(2, to_unix(now));
  return read_all<Grant>(s, read_grant);
}

void SqliteStore::revoke_all(const std::vector<Grant>& grants, Seconds at) {
  auto update = db_->prepare("UPDATE grants SET revoked_at = ? WHERE id = ?");
  for (const auto& g : grants) {
    update.bind(1, to_unix(at)).bind(2, g.id).step();
    update.reset();
  }
}

std::vector<Grant> SqliteStore::who_has_access(std::int64_t server_id, Seconds now) {
  auto s = db_->prepare(std::string(kGrantColumns) +
                        " WHERE g.server_id = ? AND g.revoked_at IS NULL AND g.not_before <= ? AND g.not_after > ?"
                        " ORDER BY o.name, g.id");
  s.bind(1, server_id).bind(2, to_unix(now)).bind(3, to_unix(now));
  return read_all<Grant>(s, read_grant);
}

// ---------------------------------------------------------------- settings

std::chrono::seconds SqliteStore::max_grant_duration() {
  auto q = db_->prepare("SELECT value FROM settings WHERE name = ?");
  q.bind(1, kMaxGrantSetting);
  if (!q.step()) return default_max_grant_duration;
  const std::string text = q.col_text(0);
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  // Only set_max_grant_duration writes it; anything else means the file was edited: fail closed.
  if (ec != std::errc{} || end != text.data() + text.size() || seconds <= 0) {
    throw db::DbError("corrupt database: setting " + std::string(kMaxGrantSetting) + " is " + quoted(text));
  }
  return std::chrono::seconds(seconds);
}

Status SqliteStore::set_max_grant_duration(std::chrono::seconds d) {
  if (d < kShortestMaxGrant || d > kLongestMaxGrant) {
    return Error{"the maximum grant duration must be between " + format_span(kShortestMaxGrant) + " and " +
                 format_span(kLongestMaxGrant) + ", not " + format_span(d)};
  }
  db_->prepare("INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
      .bind(1, kMaxGrantSetting)
      .bind(2, std::to_string(d.count()))
      .step();
  return ok_status();
}

}  // namespace bastion::authz
