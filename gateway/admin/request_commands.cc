// request add | list | show | cancel | approve | deny: access on request (issue 17). The rules
// are authz/access_request.h's; this file asks them, writes through the stores and records each
// transition as an audit event. run_command runs every request command in one transaction, so a
// transition and its event (and the grant the last approval creates) commit together or not at all.
#include <chrono>
#include <ostream>

#include "authz/access_request.h"
#include "audit/access_json.h"
#include "authz/decide.h"
#include "authz/sqlite_request_store.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/request_view.h"
#include "gateway/admin/review.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

using authz::AccessRequest;
using Json = nlohmann::json;

std::int64_t request_id(const po::variables_map& vm) { return positive_id(vm["ID"].as<std::string>(), "request"); }

// acting_person: the person behind ctx as the request rules see them. Over SSH the account is in
// the store; the host's root (bastionctl) is an officer with no account (id 0).
authz::Operator acting_person(CommandContext& ctx) {
  authz::Operator who;
  if (auto found = ctx.store.find_operator(ctx.actor)) who = *found;
  who.name = ctx.actor;
  who.role = ctx.actor_role;
  who.client = ctx.actor_client;
  return who;
}

// visible_request: the request if ctx may see it. Another client's request reads as absent, so a
// reviewer learns nothing of it, not even that the id exists.
std::optional<AccessRequest> visible_request(CommandContext& ctx, authz::RequestStore& requests, std::int64_t id) {
  auto r = requests.find(id);
  if (!r || !authz::may_see(*r, acting_person(ctx))) return std::nullopt;
  return r;
}

// settled_request: the request named by the ID argument, after lapses are settled, if ctx may see it.
std::optional<AccessRequest> settled_request(CommandContext& ctx, authz::RequestStore& requests,
                                             const po::variables_map& vm) {
  settle_lapsed_requests(ctx, requests);
  return visible_request(ctx, requests, request_id(vm));
}

// How long `request list` keeps telling a requester of a decision on their request.
constexpr std::chrono::hours kDecisionsToldFor{24};

// decision_line: "request 7 was denied by carol at 2026-12-05 23:10 UTC: change freeze", or "request
// 7 lapsed at … : nobody decided within the pending TTL".
std::string decision_line(const AccessRequest& r) {
  const std::string id = "request " + std::to_string(r.id);
  const std::string at = authz::format_utc(*r.decided_at);
  if (r.status == authz::RequestStatus::Lapsed) return id + " lapsed at " + at + ": nobody decided within the pending TTL";
  std::string line = id + " was " + authz::to_string(r.status) + " by " + r.decided_by + " at " + at;
  if (!r.decision_reason.empty()) line += ": " + r.decision_reason;
  return line;
}

int no_such_request(CommandContext& ctx, std::int64_t id) {
  return refuse(ctx, "no request with id " + std::to_string(id) + " that you may see (request list --all)");
}

Status record_request(CommandContext& ctx, std::string kind, const AccessRequest& before,
                      const AccessRequest& after, Json extra = Json::object()) {
  const Seconds now = ctx.clock.now();
  return record_change(ctx, {std::move(kind), after.server_name, request_json(ctx, before, now),
                             request_json(ctx, after, now), std::move(extra)});
}

// reload: the request as stored now (it was just written in this transaction).
AccessRequest reload(authz::RequestStore& requests, std::int64_t id) {
  auto r = requests.find(id);
  if (!r) throw db::DbError("request " + std::to_string(id) + " vanished inside its own transaction");
  return *r;
}

// grant_on_last_approval creates the request's grant: its clock starts now (or at --from if
// later) and its duration is checked against the maximum grant duration in force now.
Result<authz::Grant> grant_on_last_approval(CommandContext& ctx, const AccessRequest& r) {
  auto window = authz::grant_window(r, ctx.clock.now(), ctx.store.max_grant_duration());
  if (!window) return window.error();
  authz::NewGrant g{r.operator_name, r.server_name, r.login, r.ops, window->first, window->second,
                    "request " + std::to_string(r.id) + ": " + r.reason, ctx.actor};
  return ctx.store.add_grant(g);
}

// end_pending ends a pending request as denied or cancelled (the caller checked who may), with
// its event, and prints the result.
int end_pending(CommandContext& ctx, const po::variables_map& vm, authz::RequestStore& requests,
                const AccessRequest& before, authz::RequestStatus status, const std::string& reason) {
  const Seconds now = ctx.clock.now();
  if (auto st = requests.set_ended(before.id, status, ctx.actor, now, reason); !st) return refuse(ctx, st.error().message);
  const auto after = reload(requests, before.id);
  const std::string verb = status == authz::RequestStatus::Denied ? "deny" : "cancel";
  if (auto ev = record_request(ctx, "request." + verb, before, after); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(vm)) {
    print_json(ctx, request_json(ctx, after, now));
  } else {
    ctx.out << "request " << before.id << " " << authz::to_string(status) << "\n";
  }
  return kExitOk;
}

}  // namespace

int request_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("request add", "SERVER --login L --ops OP[,OP…] --for D [--from T] --reason TEXT [--operator O]",
                 "Ask for time-boxed access to operations of a dedicated server's catalogue. The approvals the "
                 "server's policy names follow; the grant starts at the last of them (or at --from if later).");
  cl.positional("SERVER");
  cl.options()("login", po::value<std::string>()->required()->value_name("L"), "as which remote account")(
      "ops", po::value<std::string>()->required()->value_name("OPS"), "comma-separated catalogue entries")(
      "for", po::value<std::string>()->required()->value_name("D"), "how long, once granted (e.g. 2h)")(
      "from", po::value<std::string>()->value_name("T"), "not before this time")(
      "reason", po::value<std::string>()->required()->value_name("TEXT"), "why (the approvers read it)")(
      "operator", po::value<std::string>()->value_name("O"), "officers only: on behalf of this operator");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::SqliteRequestStore requests(ctx.db);
  settle_lapsed_requests(ctx, requests);
  const Seconds now = ctx.clock.now();

  authz::Operator requester = acting_person(ctx);
  if (vm->count("operator") != 0) {
    if (ctx.actor_role != authz::Role::Officer) return refuse(ctx, "--operator is for officers; you request for yourself");
    auto named = ctx.store.find_operator((*vm)["operator"].as<std::string>());
    if (!named) return refuse(ctx, "no operator named '" + (*vm)["operator"].as<std::string>() + "'");
    requester = *named;
  } else if (ctx.actor_role == authz::Role::Officer) {
    return refuse(ctx, "name the operator who needs access (--operator O); officers do not request for themselves");
  }
  const auto server_name = (*vm)["SERVER"].as<std::string>();
  const auto server = ctx.store.find_server(server_name);
  if (!server) return refuse(ctx, "unknown server '" + server_name + "'");
  const auto login = (*vm)["login"].as<std::string>();
  if (!valid_login(login)) return refuse(ctx, "login '" + login + "' is not a valid account name");
  const auto ops = comma_list((*vm)["ops"].as<std::string>(), "ops");
  const auto duration = parse_duration((*vm)["for"].as<std::string>());
  if (!duration) throw UsageError("--for: " + duration.error().message);
  const std::optional<Seconds> from = time_filter(*vm, "from");
  const auto reason = (*vm)["reason"].as<std::string>();
  const auto catalogue = ctx.store.catalogue_of(server->id);
  const authz::RequestDraft draft{requester, *server, catalogue, login, ops, *duration, from, reason, now,
                                  ctx.store.max_grant_duration()};
  if (auto st = authz::check_request(draft); !st) return refuse(ctx, st.error().message);

  const auto added = requests.add({requester.id, server->id, login, ops, *duration, from, reason,
                                   requests.policy_for(server->id), now, now + requests.pending_ttl()});
  if (auto ev = record_change(ctx, {"request.add", added.server_name, nullptr, request_json(ctx, added, now)}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, request_json(ctx, added, now));
  } else {
    ctx.out << "request " << added.id << ": " << added.operator_name << " asks for " << joined_ops(added.ops) << " as "
            << added.login << " on " << added.server_name << "; waits for " << authz::waiting_for(added)
            << " approval until " << authz::format_utc(added.lapses_at) << "\n";
  }
  return kExitOk;
}

int request_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("request list", "[--pending | --all]",
                 "List open requests (pending, approved, active) you may see; --pending: those waiting for your "
                 "decision (operators: your own pending ones); --all: decided ones too.");
  cl.options()("pending", "only those waiting for your decision")("all", "include decided and ended requests");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const bool pending = vm->count("pending") != 0, all = vm->count("all") != 0;
  if (pending && all) throw UsageError("give at most one of --pending and --all");
  authz::SqliteRequestStore requests(ctx.db);
  settle_lapsed_requests(ctx, requests);
  const Seconds now = ctx.clock.now();
  const auto me = acting_person(ctx);
  Json out = Json::array();
  Table table({"ID", "OPERATOR", "SERVER", "LOGIN", "OPS", "FOR", "STATE", "WAITING", "REASON"});
  int awaiting_me = 0;
  for (const auto& r : requests.list()) {
    if (!authz::may_see(r, me)) continue;
    const auto state = request_state_text(ctx, r, now);
    const bool mine_to_decide = authz::awaits(r, me, now);
    awaiting_me += mine_to_decide ? 1 : 0;
    if (pending && !(mine_to_decide || (me.role == authz::Role::Operator && state == "pending"))) continue;
    if (!pending && !all && state != "pending" && state != "approved" && state != "active") continue;
    out.push_back(request_json(ctx, r, now));
    table.add({std::to_string(r.id), r.operator_name, r.server_name, r.login, joined_ops(r.ops),
               duration_text(r.duration), state, authz::waiting_for(r), r.reason});
  }
  if (wants_json(*vm)) {
    print_json(ctx, out);
    return kExitOk;
  }
  table.print(ctx.out);
  // Told, not polled: whoever lists is told what waits for them, and a requester what others (or
  // the pending TTL) decided on their requests in the last day, which the open list no longer shows.
  if (awaiting_me > 0 && !pending) {
    ctx.out << awaiting_me << " request(s) wait for your decision: request list --pending\n";
  }
  if (!all) {
    for (const auto& r : requests.list()) {
      if (r.operator_name != me.name || !r.decided_at || r.decided_by == me.name) continue;
      if (now - *r.decided_at > kDecisionsToldFor) continue;
      ctx.out << decision_line(r) << "\n";
    }
  }
  return kExitOk;
}

int request_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("request show", "ID", "Show one request: what was asked, why, who approved, and its grant.");
  cl.positional("ID");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = settled_request(ctx, requests, *vm);
  if (!r) return no_such_request(ctx, request_id(*vm));
  if (wants_json(*vm)) {
    print_json(ctx, request_json(ctx, *r, ctx.clock.now()));
  } else {
    print_request(ctx, *r);
  }
  return kExitOk;
}

int request_cancel(const Args& args, CommandContext& ctx) {
  CommandLine cl("request cancel", "ID [--reason TEXT]", "Withdraw a pending request (the requester, or an officer).");
  cl.positional("ID");
  cl.options()("reason", po::value<std::string>()->value_name("TEXT"), "why");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = settled_request(ctx, requests, *vm);
  if (!r) return no_such_request(ctx, request_id(*vm));
  const Seconds now = ctx.clock.now();
  if (auto st = authz::check_cancel(*r, acting_person(ctx), now); !st) return refuse(ctx, st.error().message);
  const auto reason = vm->count("reason") != 0 ? (*vm)["reason"].as<std::string>() : std::string();
  return end_pending(ctx, *vm, requests, *r, authz::RequestStatus::Cancelled, reason);
}

int request_approve(const Args& args, CommandContext& ctx) {
  CommandLine cl("request approve", "ID [--reason TEXT]",
                 "Give your approval (client reviewer or officer). The last approval the policy needs creates the "
                 "grant, starting now (or at the requested --from if later).");
  cl.positional("ID");
  cl.options()("reason", po::value<std::string>()->value_name("TEXT"), "a note kept with the approval");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = settled_request(ctx, requests, *vm);
  if (!r) return no_such_request(ctx, request_id(*vm));
  const auto id = r->id;
  const Seconds now = ctx.clock.now();
  const auto me = acting_person(ctx);
  const auto slot = authz::check_approval(*r, me, now);
  if (!slot) return refuse(ctx, slot.error().message);
  const auto note = vm->count("reason") != 0 ? (*vm)["reason"].as<std::string>() : std::string();
  requests.add_approval(id, {me.id, me.name, *slot, now, note});
  auto after = reload(requests, id);

  std::optional<authz::Grant> grant;
  if (authz::approvals_complete(after)) {
    auto g = grant_on_last_approval(ctx, after);
    if (!g) return refuse(ctx, "request " + std::to_string(id) + " cannot be granted: " + g.error().message);
    if (auto st = requests.set_approved(id, g->id); !st) return refuse(ctx, st.error().message);
    after = reload(requests, id);
    grant = *g;
  }
  if (auto ev = record_request(ctx, "request.approve", *r, after, {{"as", authz::to_string(*slot)}}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (grant) {
    const ChangeRecord granted{"admin.grant.add", grant->server_name, nullptr, grant_json(*grant, now),
                               {{"request", id}, {"approvers", audit::approvals_json(after)}}};
    if (auto ev = record_change(ctx, granted); !ev) return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, request_json(ctx, after, now));
  } else if (grant) {
    ctx.out << "request " << id << " approved; grant " << grant->id << ": " << grant->operator_name << " may use "
            << joined_ops(grant->ops) << " as " << grant->login << " on " << grant->server_name << " from "
            << authz::format_utc(grant->not_before) << " until " << authz::format_utc(grant->not_after) << "\n";
  } else {
    ctx.out << "request " << id << ": your " << authz::to_string(*slot) << " approval is recorded; it waits for "
            << authz::waiting_for(after) << "\n";
  }
  return kExitOk;
}

int request_deny(const Args& args, CommandContext& ctx) {
  CommandLine cl("request deny", "ID --reason TEXT", "Refuse a pending request; one deny ends it.");
  cl.positional("ID");
  cl.options()("reason", po::value<std::string>()->required()->value_name("TEXT"), "why (the requester reads it)");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = settled_request(ctx, requests, *vm);
  if (!r) return no_such_request(ctx, request_id(*vm));
  const Seconds now = ctx.clock.now();
  const auto reason = (*vm)["reason"].as<std::string>();
  if (auto st = authz::check_denial(*r, acting_person(ctx), reason, now); !st) return refuse(ctx, st.error().message);
  return end_pending(ctx, *vm, requests, *r, authz::RequestStatus::Denied, reason);
}

}  // namespace bastion::gateway::admin
