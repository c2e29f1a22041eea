// grant add | revoke | list | show
#include <charconv>
#include <ostream>
#include <set>

#include "authz/access_request.h"
#include "authz/decide.h"
#include "authz/sqlite_request_store.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/request_view.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

std::int64_t grant_id(const po::variables_map& vm) {
  const auto& text = vm["ID"].as<std::string>();
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    throw UsageError("grant ID must be a positive number, not '" + text + "'");
  }
  return id;
}

Seconds time_option(const po::variables_map& vm, const char* name) {
  auto t = parse_time(vm[name].as<std::string>());
  if (!t) throw UsageError(std::string("--") + name + ": " + t.error().message);
  return *t;
}

// window computes [not_before, not_after) from --from and exactly one of --for / --until.
std::pair<Seconds, Seconds> window(const po::variables_map& vm, Seconds now) {
  const bool has_for = vm.count("for") != 0, has_until = vm.count("until") != 0;
  if (has_for == has_until) throw UsageError("give exactly one of --for DURATION and --until TIME");
  const Seconds from = vm.count("from") != 0 ? time_option(vm, "from") : now;
  if (has_until) return {from, time_option(vm, "until")};
  auto d = parse_duration(vm["for"].as<std::string>());
  if (!d) throw UsageError("--for: " + d.error().message);
  return {from, from + *d};
}

// visible_servers: the names of the servers a client reviewer may review; nullopt for officers,
// who see every grant, including those on removed servers.
std::optional<std::set<std::string>> visible_servers(CommandContext& ctx) {
  if (ctx.actor_role == authz::Role::Officer) return std::nullopt;
  std::set<std::string> names;
  for (const auto& s : ctx.store.list_servers()) {
    if (ctx.sees_client(s.client)) names.insert(s.name);
  }
  return names;
}

void print_grant(CommandContext& ctx, const authz::Grant& g) {
  ctx.out << "grant " << g.id << "\n"
          << "  operator:   " << g.operator_name << "\n"
          << "  server:     " << g.server_name << "\n"
          << "  login:      " << g.login << "\n"
          << "  ops:        " << joined_ops(g.ops) << "\n"
          << "  from:       " << authz::format_utc(g.not_before) << "\n"
          << "  until:      " << authz::format_utc(g.not_after) << "\n"
          << "  state:      " << grant_state(g, ctx.clock.now())
          << (g.revoked_at ? " at " + authz::format_utc(*g.revoked_at) : "") << "\n"
          << "  reason:     " << g.reason << "\n"
          << "  granted by: " << g.granted_by << " at " << authz::format_utc(g.created_at) << "\n";
  if (g.emergency) ctx.out << "  EMERGENCY:  given without a request (break-glass), flagged for the client's review\n";
  print_grant_request(ctx, g.id);
}

// policy_of: the approval policy of the named server; the default if it is unknown (add_grant
// then refuses it with its own reason) or the context has no database (unit tests of the front).
authz::ApprovalPolicy policy_of(CommandContext& ctx, const std::string& server_name) {
  const auto server = ctx.store.find_server(server_name);
  if (!server || !ctx.db) return {};
  return authz::SqliteRequestStore(ctx.db).policy_for(server->id);
}

// record_emergency: the grant.emergency event, beside admin.grant.add, naming the officer (the
// event's actor), the reason and the policy it bypassed, so the client's review finds it by kind.
Status record_emergency(CommandContext& ctx, const authz::Grant& g, const authz::ApprovalPolicy& policy) {
  const auto server = ctx.store.find_server(g.server_name);
  const std::string client = server ? server->client : "";
  audit::Event e;
  e.at = ctx.clock.now();
  e.kind = "grant.emergency";
  e.actor = ctx.actor;
  e.source = ctx.source;
  e.server = g.server_name;
  e.details = {{"grant", g.id},       {"officer", ctx.actor},   {"reason", g.reason},
               {"operator", g.operator_name}, {"login", g.login}, {"ops", g.ops},
               {"not_before", iso8601(g.not_before)}, {"not_after", iso8601(g.not_after)},
               {"bypassed_policy", authz::to_string(policy)}, {"client", client}};
  return ctx.events.append(e);
}

}  // namespace

int grant_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("grant add",
                 "--operator O --server S --login L --ops OP[,OP…] (--for D | --until T) [--from T] --reason TEXT "
                 "[--emergency]",
                 "Grant an operator time-boxed access to operations of a dedicated server's catalogue.\n"
                 "On a server whose policy needs its client's approval, access goes through `request add`;\n"
                 "--emergency grants without it (break-glass): the grant is flagged for the client's review.\n"
                 "Times: unix seconds, 2026-11-23T14:00:00Z or \"2026-11-23 14:00\" (UTC). Durations: 90s, 30m, 4h, 2d.");
  cl.options()("operator", po::value<std::string>()->required()->value_name("O"), "who is granted")(
      "server", po::value<std::string>()->required()->value_name("S"), "on which dedicated server")(
      "login", po::value<std::string>()->required()->value_name("L"), "as which remote account")(
      "ops", po::value<std::string>()->required()->value_name("OPS"), "comma-separated catalogue entries")(
      "for", po::value<std::string>()->value_name("D"), "length of the window")(
      "until", po::value<std::string>()->value_name("T"), "end of the window (exclusive)")(
      "from", po::value<std::string>()->value_name("T"), "start of the window (default: now)")(
      "reason", po::value<std::string>()->required()->value_name("TEXT"), "why (kept as evidence)")(
      "emergency", "break-glass: grant without the client's approval; flagged, and a grant.emergency event");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::NewGrant g;
  g.operator_name = (*vm)["operator"].as<std::string>();
  g.server_name = (*vm)["server"].as<std::string>();
  g.login = (*vm)["login"].as<std::string>();
  g.ops = comma_list((*vm)["ops"].as<std::string>(), "ops");
  std::tie(g.not_before, g.not_after) = window(*vm, ctx.clock.now());
  g.reason = (*vm)["reason"].as<std::string>();
  g.granted_by = ctx.actor;
  g.emergency = vm->count("emergency") != 0;
  if (!valid_login(g.login)) return refuse(ctx, "login '" + g.login + "' is not a valid account name");
  const auto policy = policy_of(ctx, g.server_name);
  if (auto st = authz::check_direct_grant(policy, g.server_name, g.emergency, g.reason); !st) {
    return refuse(ctx, st.error().message);
  }
  auto added = ctx.store.add_grant(g);
  if (!added) return refuse(ctx, added.error().message);
  const auto after = grant_json(*added, ctx.clock.now());
  if (auto ev = record_change(ctx, {"admin.grant.add", added->server_name, nullptr, after}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (added->emergency) {
    if (auto ev = record_emergency(ctx, *added, policy); !ev) return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, grant_json(*added, ctx.clock.now()));
  } else {
    ctx.out << "grant " << added->id << ": " << added->operator_name << " may use " << joined_ops(added->ops)
            << " as " << added->login << " on " << added->server_name << " from "
            << authz::format_utc(added->not_before) << " until " << authz::format_utc(added->not_after) << "\n";
  }
  return kExitOk;
}

int grant_revoke(const Args& args, CommandContext& ctx) {
  CommandLine cl("grant revoke", "ID", "Revoke a grant now; live sessions under it are cut.");
  cl.positional("ID");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto id = grant_id(*vm);
  const Seconds now = ctx.clock.now();
  const auto before = ctx.store.find_grant(id);
  if (!before) return refuse(ctx, "no grant with id " + std::to_string(id));
  // The request the grant came from, if any: its requester and approvers are told (request.revoke).
  std::optional<authz::AccessRequest> request;
  if (ctx.db) request = authz::SqliteRequestStore(ctx.db).find_by_grant(id);
  const auto request_before = request ? request_json(ctx, *request, now) : nlohmann::json(nullptr);
  if (auto st = ctx.store.revoke_grant(id, now); !st) return refuse(ctx, st.error().message);
  const ChangeRecord record{"admin.grant.revoke", before->server_name, grant_json(*before, now),
                            grant_json(*ctx.store.find_grant(id), now)};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (request) {
    const ChangeRecord revoked{"request.revoke", request->server_name, request_before,
                               request_json(ctx, *request, now), {{"grant", id}}};
    if (auto ev = record_change(ctx, revoked); !ev) return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"id", id}, {"revoked", true}, {"revoked_at", iso8601(now)}});
  } else {
    ctx.out << "grant " << id << " revoked at " << authz::format_utc(now) << "\n";
  }
  return kExitOk;
}

int grant_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("grant list", "",
                 "List every grant, including expired and revoked ones (a client reviewer sees those on its own "
                 "client's servers only).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const Seconds now = ctx.clock.now();
  const auto visible = visible_servers(ctx);
  nlohmann::json all = nlohmann::json::array();
  Table table({"ID", "OPERATOR", "SERVER", "LOGIN", "OPS", "FROM", "UNTIL", "STATE", "BY", "EMERGENCY", "REASON"});
  for (const auto& g : ctx.store.list_grants()) {
    if (visible && !visible->contains(g.server_name)) continue;
    all.push_back(grant_json(g, now));
    table.add({std::to_string(g.id), g.operator_name, g.server_name, g.login, joined_ops(g.ops),
               iso8601(g.not_before), iso8601(g.not_after), grant_state(g, now), g.granted_by,
               g.emergency ? "yes" : "-", g.reason});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int grant_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("grant show", "ID", "Show one grant.");
  cl.positional("ID");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto id = grant_id(*vm);
  const auto g = ctx.store.find_grant(id);
  if (!g) return refuse(ctx, "no grant with id " + std::to_string(id));
  if (wants_json(*vm)) {
    auto j = grant_json(*g, ctx.clock.now());
    j["request"] = grant_request_json(ctx, g->id);  // null for a grant an officer gave directly
    print_json(ctx, j);
  } else {
    print_grant(ctx, *g);
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
