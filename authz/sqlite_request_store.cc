// SqliteRequestStore: SQL for access requests. Writes run in a db::Database::Transaction (a
// savepoint inside begin_change()), so each check and its write see the same rows.
#include "authz/sqlite_request_store.h"

#include <charconv>

#include "authz/sqlite_rows.h"

namespace bastion::authz {
namespace {

using namespace sqlite_rows;  // NOLINT(google-build-using-namespace): the store's own helpers

constexpr std::string_view kPendingTtlSetting = "pending-ttl";
constexpr std::string_view kNotifyCursorSetting = "notify-cursor";
constexpr std::chrono::seconds kShortestTtl = std::chrono::minutes(5);
constexpr std::chrono::seconds kLongestTtl = std::chrono::hours(24 * 30);

constexpr std::string_view kRequestColumns =
    "SELECT r.id, r.operator_id, o.name, r.server_id, s.name, s.client, r.login, r.ops, r.duration, r.from_at,"
    " r.reason, r.needs, r.created_at, r.lapses_at, r.status, r.decided_by, r.decided_at, r.decision_reason,"
    " r.grant_id"
    " FROM access_requests r JOIN operators o ON o.id = r.operator_id JOIN servers s ON s.id = r.server_id";

// The CHECK constraints make an unknown value unreachable unless the file was edited: fail closed.
template <typename T>
T must(std::optional<T> v, std::string_view what) {
  if (!v) throw db::DbError("corrupt database: unknown " + std::string(what) + " in access_requests");
  return *v;
}

std::optional<Seconds> optional_time(const db::Statement& s, int i) {
  if (s.col_null(i)) return std::nullopt;
  return from_unix(s.col_int(i));
}

AccessRequest read_request(const db::Statement& s) {
  AccessRequest r;
  r.id = s.col_int(0);
  r.operator_id = s.col_int(1);
  r.operator_name = s.col_text(2);
  r.server_id = s.col_int(3);
  r.server_name = s.col_text(4);
  r.client = s.col_text(5);
  r.login = s.col_text(6);
  r.ops = split_ops(s.col_text(7));
  r.duration = std::chrono::seconds(s.col_int(8));
  r.from = optional_time(s, 9);
  r.reason = s.col_text(10);
  r.needs = must(parse_approval_policy(s.col_text(11)), "approval policy");
  r.created_at = from_unix(s.col_int(12));
  r.lapses_at = from_unix(s.col_int(13));
  r.status = must(parse_request_status(s.col_text(14)), "status");
  r.decided_by = s.col_null(15) ? "" : s.col_text(15);
  r.decided_at = optional_time(s, 16);
  r.decision_reason = s.col_text(17);
  if (!s.col_null(18)) r.grant_id = s.col_int(18);
  return r;
}

std::optional<std::string> policy_text(const std::optional<ApprovalPolicy>& p) {
  if (!p) return std::nullopt;
  return to_string(*p);
}

std::optional<ApprovalPolicy> read_policy(db::Statement& s) {
  if (!s.step() || s.col_null(0)) return std::nullopt;
  return must(parse_approval_policy(s.col_text(0)), "approval policy");
}

void bind_text_or_null(db::Statement& s, int i, const std::optional<std::string>& v) {
  if (v) {
    s.bind(i, std::string_view(*v));
  } else {
    s.bind(i, std::nullopt);
  }
}

}  // namespace

AccessRequest SqliteRequestStore::add(const NewRequest& r) {
  db::Database::Transaction tx(*db_);
  auto s = db_->prepare(
      "INSERT INTO access_requests(operator_id, server_id, login, ops, duration, from_at, reason, needs,"
      " created_at, lapses_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  const std::string ops = join(r.ops, ",");
  const std::string needs = to_string(r.needs);
  s.bind(1, r.operator_id).bind(2, r.server_id).bind(3, std::string_view(r.login)).bind(4, std::string_view(ops));
  s.bind(5, static_cast<std::int64_t>(r.duration.count()));
  s.bind(6, r.from ? std::optional<std::int64_t>(to_unix(*r.from)) : std::nullopt);
  s.bind(7, std::string_view(r.reason)).bind(8, std::string_view(needs));
  s.bind(9, static_cast<std::int64_t>(to_unix(r.created_at))).bind(10, static_cast<std::int64_t>(to_unix(r.lapses_at)));
  const auto id = s.returned_id();
  tx.commit();
  auto added = find(id);
  if (!added) throw db::DbError("access request " + std::to_string(id) + " vanished after insert");
  return *added;
}

std::vector<AccessRequest> SqliteRequestStore::query(std::string_view where, std::optional<std::int64_t> arg) {
  auto s = db_->prepare(std::string(kRequestColumns) + std::string(where) + " ORDER BY r.id");
  if (arg) s.bind(1, *arg);
  auto out = read_all<AccessRequest>(s, read_request);
  for (auto& r : out) load_approvals(r);
  return out;
}

void SqliteRequestStore::load_approvals(AccessRequest& r) {
  auto s = db_->prepare(
      "SELECT approver_id, approver, as_role, at, reason FROM request_approvals WHERE request_id = ? ORDER BY id");
  s.bind(1, r.id);
  while (s.step()) {
    Approval a;
    a.approver_id = s.col_null(0) ? 0 : s.col_int(0);
    a.approver = s.col_text(1);
    a.as = s.col_text(2) == "client" ? Approver::Client : Approver::Officer;
    a.at = from_unix(s.col_int(3));
    a.reason = s.col_text(4);
    r.approvals.push_back(std::move(a));
  }
}

std::optional<AccessRequest> SqliteRequestStore::find(std::int64_t id) {
  auto found = query(" WHERE r.id = ?", id);
  if (found.empty()) return std::nullopt;
  return found.front();
}

std::optional<AccessRequest> SqliteRequestStore::find_by_grant(std::int64_t grant_id) {
  auto found = query(" WHERE r.grant_id = ?", grant_id);
  if (found.empty()) return std::nullopt;
  return found.front();
}

std::vector<AccessRequest> SqliteRequestStore::list() { return query("", std::nullopt); }

void SqliteRequestStore::add_approval(std::int64_t request_id, const Approval& a) {
  auto s = db_->prepare(
      "INSERT INTO request_approvals(request_id, approver_id, approver, as_role, at, reason) VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(1, request_id)
      .bind(2, a.approver_id != 0 ? std::optional<std::int64_t>(a.approver_id) : std::nullopt)
      .bind(3, std::string_view(a.approver))
      .bind(4, std::string_view(to_string(a.as)))
      .bind(5, static_cast<std::int64_t>(to_unix(a.at)))
      .bind(6, std::string_view(a.reason));
  s.step();
}

Status SqliteRequestStore::set_approved(std::int64_t request_id, std::int64_t grant_id) {
  auto s = db_->prepare("UPDATE access_requests SET status = 'approved', grant_id = ? WHERE id = ? AND status = 'pending'");
  s.bind(1, grant_id).bind(2, request_id);
  s.step();
  if (db_->changes() != 1) return Error{"request " + std::to_string(request_id) + " is no longer pending"};
  return ok_status();
}

Status SqliteRequestStore::set_ended(std::int64_t request_id, RequestStatus status, std::string_view by, Seconds at,
                                     std::string_view reason) {
  auto s = db_->prepare(
      "UPDATE access_requests SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?"
      " WHERE id = ? AND status = 'pending'");
  s.bind(1, std::string_view(to_string(status)))
      .bind(2, by)
      .bind(3, static_cast<std::int64_t>(to_unix(at)))
      .bind(4, reason)
      .bind(5, request_id);
  s.step();
  if (db_->changes() != 1) return Error{"request " + std::to_string(request_id) + " is no longer pending"};
  return ok_status();
}

std::vector<AccessRequest> SqliteRequestStore::lapse_due(Seconds now) {
  db::Database::Transaction tx(*db_);
  auto due = query(" WHERE r.status = 'pending' AND r.lapses_at <= ?", to_unix(now));
  for (auto& r : due) {
    // A lapse happens at lapses_at, whenever the bastion notices it.
    if (auto st = set_ended(r.id, RequestStatus::Lapsed, "bastion", r.lapses_at, "nobody decided in time"); !st) {
      throw db::DbError(st.error().message);
    }
    r.status = RequestStatus::Lapsed;
    r.decided_by = "bastion";
    r.decided_at = r.lapses_at;
    r.decision_reason = "nobody decided in time";
  }
  tx.commit();
  return due;
}

ApprovalPolicy SqliteRequestStore::policy_for(std::int64_t server_id) {
  auto s = db_->prepare(
      "SELECT coalesce(s.approvals, c.approvals) FROM servers s JOIN clients c ON c.name = s.client WHERE s.id = ?");
  s.bind(1, server_id);
  return read_policy(s).value_or(ApprovalPolicy{});
}

std::optional<ApprovalPolicy> SqliteRequestStore::server_policy(std::string_view server) {
  auto s = db_->prepare("SELECT approvals FROM servers WHERE name = ? AND removed_at IS NULL");
  s.bind(1, server);
  return read_policy(s);
}

std::optional<ApprovalPolicy> SqliteRequestStore::client_policy(std::string_view client) {
  auto s = db_->prepare("SELECT approvals FROM clients WHERE name = ?");
  s.bind(1, client);
  return read_policy(s);
}

Status SqliteRequestStore::set_server_policy(std::string_view server, std::optional<ApprovalPolicy> p) {
  auto s = db_->prepare("UPDATE servers SET approvals = ? WHERE name = ? AND removed_at IS NULL");
  bind_text_or_null(s, 1, policy_text(p));
  s.bind(2, server);
  s.step();
  if (db_->changes() != 1) return Error{"no server named " + quoted(server)};
  return ok_status();
}

Status SqliteRequestStore::set_client_policy(std::string_view client, std::optional<ApprovalPolicy> p) {
  auto s = db_->prepare("UPDATE clients SET approvals = ? WHERE name = ?");
  bind_text_or_null(s, 1, policy_text(p));
  s.bind(2, client);
  s.step();
  if (db_->changes() != 1) return Error{"no client named " + quoted(client) + " (clients appear with their first server)"};
  return ok_status();
}

std::optional<std::int64_t> SqliteRequestStore::integer_setting(std::string_view name) {
  auto q = db_->prepare("SELECT value FROM settings WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  const std::string text = q.col_text(0);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // Only this store writes these settings; anything else means the file was edited: fail closed.
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
    throw db::DbError("corrupt database: setting " + std::string(name) + " is " + quoted(text));
  }
  return value;
}

void SqliteRequestStore::set_integer_setting(std::string_view name, std::int64_t value) {
  db_->prepare("INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
      .bind(1, name)
      .bind(2, std::to_string(value))
      .step();
}

std::chrono::seconds SqliteRequestStore::pending_ttl() {
  const auto v = integer_setting(kPendingTtlSetting);
  if (!v) return kDefaultPendingTtl;
  if (*v <= 0) throw db::DbError("corrupt database: setting " + std::string(kPendingTtlSetting) + " is 0");
  return std::chrono::seconds(*v);
}

Status SqliteRequestStore::set_pending_ttl(std::chrono::seconds d) {
  if (d < kShortestTtl || d > kLongestTtl) {
    return Error{"the pending TTL must be between " + format_span(kShortestTtl) + " and " + format_span(kLongestTtl) +
                 ", not " + format_span(d)};
  }
  set_integer_setting(kPendingTtlSetting, d.count());
  return ok_status();
}

std::optional<std::int64_t> SqliteRequestStore::notify_cursor() { return integer_setting(kNotifyCursorSetting); }

void SqliteRequestStore::set_notify_cursor(std::int64_t event_id) { set_integer_setting(kNotifyCursorSetting, event_id); }

}  // namespace bastion::authz
