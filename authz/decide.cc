// The access decision. Every Deny names what was wrong and, where one exists, the grant and the
// time involved, because the person reading it has to know whom to ask for what.
#include "authz/decide.h"

#include <algorithm>
#include <ctime>
#include <iterator>
#include <optional>
#include <vector>

namespace bastion::authz {
namespace {

// Untrusted text (a command line, a forward host) is quoted in messages; escape anything that
// could garble a terminal or a log line, and keep it short.
constexpr std::size_t kMaxQuoted = 200;

std::string printable(std::string_view s) {
  std::string out = escape_unprintable(s.substr(0, kMaxQuoted));
  if (s.size() > kMaxQuoted) out += "…";
  return out;
}

const char* direction_word(TransferDirection d) {
  switch (d) {
    case TransferDirection::Upload: return "upload";
    case TransferDirection::Download: return "download";
    case TransferDirection::None: break;
  }
  return "";
}

std::string forward_target(std::string_view host, int port) {
  const std::string h(host);
  // An IPv6 literal needs brackets, or "::1:22" would be ambiguous.
  const std::string shown = h.find(':') == std::string::npos ? h : "[" + h + "]";
  return shown + ":" + std::to_string(port);
}

// describe renders an operation for a message, e.g. "exec `systemctl restart nginx`".
std::string describe(const Operation& op) {
  switch (op.type) {
    case OpType::Shell: return "shell";
    case OpType::Sftp: return "sftp";
    case OpType::Exec: return "exec `" + printable(op.command) + "`";
    case OpType::Scp: return std::string("scp ") + direction_word(op.direction) + " `" + printable(op.command) + "`";
    case OpType::Rsync:
      return std::string("rsync ") + direction_word(op.direction) + " `" + printable(op.command) + "`";
    case OpType::Forward: return "forward to " + printable(forward_target(op.forward_host, op.forward_port));
  }
  return "unknown operation";
}

// direction_allowed: an unclassified transfer is allowed by no entry (fail closed).
bool direction_allowed(TransferLimit limit, TransferDirection d) {
  switch (d) {
    case TransferDirection::Upload: return limit != TransferLimit::Download;
    case TransferDirection::Download: return limit != TransferLimit::Upload;
    case TransferDirection::None: break;
  }
  return false;
}

// paths_allowed: every path of the transfer within the entry's path pattern (none: any path). A
// transfer that names no path is allowed by no path-limited entry.
bool paths_allowed(const CatalogueEntry& e, const std::vector<std::string>& paths) {
  if (e.path.empty()) return true;
  return !paths.empty() &&
         std::all_of(paths.begin(), paths.end(), [&](const std::string& p) { return path_glob_match(e.path, p); });
}

// is_transfer: the types whose entries carry a direction and a path. Such an entry that still holds
// a pattern (left by a version before migration 7, authz/schema.cc) allows nothing: fail closed.
bool is_transfer(OpType t) { return t == OpType::Scp || t == OpType::Rsync || t == OpType::Sftp; }

// runs_sftp: an SFTP channel runs under an sftp entry, or under an scp entry because OpenSSH >= 9's
// scp speaks SFTP by default; either way its requests are then gated one by one against the
// entries' limits (authz/sftp_policy.h).
bool runs_sftp(const CatalogueEntry& e) { return e.type == OpType::Sftp || e.type == OpType::Scp; }

bool entry_matches(const CatalogueEntry& e, const Operation& op) {
  if (is_transfer(e.type) && !e.pattern.empty()) return false;
  if (op.type == OpType::Sftp) return runs_sftp(e);
  if (e.type != op.type) return false;
  switch (op.type) {
    case OpType::Shell:
    case OpType::Sftp: return true;
    case OpType::Exec:
      // A malformed scp/rsync server line (rsync --daemon …) is no exec a narrow pattern may allow.
      if (!op.transfer_refusal.empty()) return is_any_command_pattern(e.pattern);
      return exec_pattern_matches(e.pattern, op.argv);
    case OpType::Scp:
    case OpType::Rsync: return direction_allowed(e.direction, op.direction) && paths_allowed(e, op.paths);
    case OpType::Forward: return e.pattern == forward_target(op.forward_host, op.forward_port);
  }
  return false;
}

bool in_window(const Grant& g, Seconds now) { return g.not_before <= now && now < g.not_after; }
bool is_active(const Grant& g, Seconds now) { return !g.revoked_at && in_window(g, now); }

// distance: how far now is from the grant's window (0 inside it). Used to name the grant the
// person most likely meant when none is active.
long long distance(const Grant& g, Seconds now) {
  if (now < g.not_before) return to_unix(g.not_before) - to_unix(now);
  if (now >= g.not_after) return to_unix(now) - to_unix(g.not_after);
  return 0;
}

std::string why_inactive(const Grant& g, Seconds now) {
  const std::string id = "grant " + std::to_string(g.id);
  if (g.revoked_at) return id + " was revoked at " + format_utc(*g.revoked_at) + "; ask a security officer for a new grant";
  if (now < g.not_before) return id + " is not valid before " + format_utc(g.not_before);
  return id + " expired at " + format_utc(g.not_after) + "; ask a security officer for a new grant";
}

std::optional<std::string> account_refusal(const Operator& who) {
  if (who.disabled) return "account " + who.name + " is disabled; ask a security officer to re-enable it";
  if (who.role == Role::Officer)
    return "account " + who.name + " is a security officer account: officers manage access but cannot open sessions on servers";
  if (who.role == Role::Client)
    return "account " + who.name + " is a client reviewer account: reviewers can review sessions but cannot open them on servers";
  return std::nullopt;
}

// relevant_grants keeps only grants that really are for this operator, server and login: the
// caller is supposed to pass exactly those, and a mistake there must not widen access.
std::vector<const Grant*> relevant_grants(const DecisionInput& in) {
  std::vector<const Grant*> out;
  for (const Grant& g : in.grants) {
    if (g.operator_id == in.who.id && g.server_id == in.server.id && g.login == in.login) out.push_back(&g);
  }
  return out;
}

Deny no_active_grant(const std::vector<const Grant*>& grants, Seconds now) {
  // Closest window first; a revoked grant whose window is still open counts as closest of all.
  const Grant* closest = *std::min_element(grants.begin(), grants.end(), [now](const Grant* a, const Grant* b) {
    const long long da = distance(*a, now), db = distance(*b, now);
    return da != db ? da < db : a->id > b->id;
  });
  return Deny{why_inactive(*closest, now)};
}

const CatalogueEntry* find_entry(const DecisionInput& in, std::string_view name) {
  for (const CatalogueEntry& e : in.catalogue) {
    if (e.name == name && e.server_id == in.server.id) return &e;
  }
  return nullptr;
}

bool is_any_command(const CatalogueEntry& e) { return e.type == OpType::Exec && is_any_command_pattern(e.pattern); }

// matching_entry returns the first of the grant's catalogue entries that allows op, an entry other
// than "any command" first: that one passes the line as typed, the others their serialisation.
const CatalogueEntry* matching_entry(const DecisionInput& in, const Grant& g, const Operation& op) {
  const CatalogueEntry* any = nullptr;
  for (const std::string& name : g.ops) {
    const CatalogueEntry* e = find_entry(in, name);
    if (!e || !entry_matches(*e, op)) continue;
    if (!is_any_command(*e)) return e;
    if (!any) any = e;
  }
  return any;
}

// granted_entries: every entry of the grant that allows op.
std::vector<CatalogueEntry> granted_entries(const DecisionInput& in, const Grant& g, const Operation& op) {
  std::vector<CatalogueEntry> out;
  for (const std::string& name : g.ops) {
    const CatalogueEntry* e = find_entry(in, name);
    if (e && entry_matches(*e, op)) out.push_back(*e);
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Deny op_not_allowed(const std::vector<const Grant*>& active, const Operation& op) {
  std::vector<std::string> ids, ops;
  for (const Grant* g : active) {
    ids.push_back(std::to_string(g->id));
    for (const std::string& name : g->ops) {
      if (std::find(ops.begin(), ops.end(), name) == ops.end()) ops.push_back(name);
    }
  }
  const std::string by = (ids.size() == 1 ? "grant " : "grants ") + join(ids);
  std::string reason = "operation " + describe(op) + " is not allowed by " + by + " (allowed: " + join(ops) + ")";
  if (!op.transfer_refusal.empty()) reason += ": " + op.transfer_refusal;
  return Deny{reason};
}

bool ends_later(const Grant* a, const Grant* b) {
  return a->not_after != b->not_after ? a->not_after > b->not_after : a->id > b->id;
}

}  // namespace

Decision decide(const DecisionInput& in) {
  if (auto refusal = account_refusal(in.who)) return Deny{*refusal};
  if (in.server.kind == ServerKind::Shared)
    return Deny{in.server.name + " is a shared server: access to shared servers is never granted"};

  const std::vector<const Grant*> grants = relevant_grants(in);
  if (grants.empty()) {
    return Deny{"no grant for " + in.who.name + " as " + printable(in.login) + " on " + in.server.name +
                "; ask a security officer for one"};
  }
  std::vector<const Grant*> active;
  std::copy_if(grants.begin(), grants.end(), std::back_inserter(active),
               [&](const Grant* g) { return is_active(*g, in.now); });
  if (active.empty()) return no_active_grant(grants, in.now);

  // Prefer the grant that lasts longest, so a session is not cut earlier than it needs to be.
  std::sort(active.begin(), active.end(), ends_later);
  if (in.op == nullptr) return Allow{*active.front(), "", false, {}};
  for (const Grant* g : active) {
    const CatalogueEntry* e = matching_entry(in, *g, *in.op);
    if (!e) continue;
    Allow allow{*g, e->name, is_any_command(*e), {}};
    if (in.op->type == OpType::Sftp) allow.transfer_entries = granted_entries(in, *g, *in.op);
    return allow;
  }
  return op_not_allowed(active, *in.op);
}

}  // namespace bastion::authz
