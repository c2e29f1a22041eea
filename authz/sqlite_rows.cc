#include "authz/sqlite_rows.h"

namespace bastion::authz::sqlite_rows {
namespace {

// The CHECK constraints make these unreachable; if a row still holds an unknown value the database
// was edited behind our back, and refusing (DbError) is the fail-closed answer.
template <typename T>
T must(std::optional<T> v, std::string_view what) {
  if (!v) throw db::DbError("corrupt database: unknown " + std::string(what));
  return *v;
}

}  // namespace

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::vector<std::string> split_ops(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    if (comma != 0) out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string quoted(std::string_view s) {
  // Appended rather than `"'" + std::string(s) + "'"`, which trips GCC 12's -Wrestrict false
  // positive at -O3.
  std::string out;
  out.reserve(s.size() + 2);
  out.append(1, '\'').append(s).append(1, '\'');
  return out;
}

std::string format_span(std::chrono::seconds d) {
  const auto s = d.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

Operator read_operator(const db::Statement& s) {
  Operator o;
  o.id = s.col_int(0);
  o.name = s.col_text(1);
  o.role = must(parse_role(s.col_text(2)), "role");
  o.client = s.col_text(3);
  o.disabled = s.col_int(4) != 0;
  o.totp_secret = s.col_text(5);
  return o;
}

Server read_server(const db::Statement& s) {
  Server v;
  v.id = s.col_int(0);
  v.name = s.col_text(1);
  v.host = s.col_text(2);
  v.port = static_cast<int>(s.col_int(3));
  v.client = s.col_text(4);
  v.kind = must(parse_server_kind(s.col_text(5)), "server kind");
  v.host_key = s.col_text(6);
  v.allowed_env = split_ops(s.col_text(7));
  v.egress = must(parse_egress_mode(s.col_text(8)), "egress mode");
  return v;
}

CatalogueEntry read_entry(const db::Statement& s) {
  CatalogueEntry e;
  e.id = s.col_int(0);
  e.server_id = s.col_int(1);
  e.name = s.col_text(2);
  e.type = must(parse_op_type(s.col_text(3)), "operation type");
  e.pattern = s.col_text(4);
  e.direction = must(parse_transfer_limit(s.col_text(5)), "transfer direction");
  e.path = s.col_text(6);
  return e;
}

OperatorKey read_key(const db::Statement& s) {
  return OperatorKey{s.col_int(0), s.col_int(1), s.col_text(2), s.col_text(3), s.col_text(4), s.col_text(5)};
}

Grant read_grant(const db::Statement& s) {
  Grant g;
  g.id = s.col_int(0);
  g.operator_id = s.col_int(1);
  g.operator_name = s.col_text(2);
  g.server_id = s.col_int(3);
  g.server_name = s.col_text(4);
  g.login = s.col_text(5);
  g.ops = split_ops(s.col_text(6));
  g.not_before = from_unix(s.col_int(7));
  g.not_after = from_unix(s.col_int(8));
  g.reason = s.col_text(9);
  g.granted_by = s.col_text(10);
  if (!s.col_null(11)) g.revoked_at = from_unix(s.col_int(11));
  g.created_at = from_unix(s.col_int(12));
  g.emergency = s.col_int(13) != 0;
  return g;
}

}  // namespace bastion::authz::sqlite_rows
