// server set-approvals | client set-approvals: which approvals an access request needs (issue 17).
// A server's own policy wins; else its client's; else an officer's approval alone.
#include <ostream>

#include "authz/access_request.h"
#include "authz/sqlite_request_store.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

// policy_argument: a policy, or nullopt for "default".
std::optional<authz::ApprovalPolicy> policy_argument(const po::variables_map& vm) {
  const auto& text = vm["POLICY"].as<std::string>();
  if (text == "default") return std::nullopt;
  auto p = authz::parse_approval_policy(text);
  if (!p) throw UsageError("approvals must be officer, client, client,officer or default, not '" + text + "'");
  return p;
}

Json policy_json(const std::optional<authz::ApprovalPolicy>& p) {
  return p ? Json(authz::to_string(*p)) : Json(nullptr);
}

// set_policy: the common body; `noun` is "server" or "client".
int set_policy(const Args& args, CommandContext& ctx, const char* noun) {
  const std::string command = std::string(noun) + " set-approvals";
  CommandLine cl(command, "NAME officer|client|client,officer|default",
                 std::string("Set which approvals an access request on ") +
                     (std::string_view(noun) == "server" ? "this server" : "this client's servers") +
                     " needs (default: " + (std::string_view(noun) == "server" ? "the client's policy" : "officer") +
                     "). Requests already made keep the policy they were made under.");
  cl.positional("NAME").positional("POLICY");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto policy = policy_argument(*vm);
  authz::SqliteRequestStore requests(ctx.db);
  const bool server = std::string_view(noun) == "server";
  const auto before = server ? requests.server_policy(name) : requests.client_policy(name);
  const auto st = server ? requests.set_server_policy(name, policy) : requests.set_client_policy(name, policy);
  if (!st) return refuse(ctx, st.error().message);
  const ChangeRecord record{"admin." + std::string(noun) + ".set-approvals", server ? name : "",
                            {{"name", name}, {"approvals", policy_json(before)}},
                            {{"name", name}, {"approvals", policy_json(policy)}}};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, record.after);
  } else {
    ctx.out << noun << " " << name << ": requests need "
            << (policy ? authz::to_string(*policy) + " approval" : std::string("the default approval")) << "\n";
  }
  return kExitOk;
}

}  // namespace

int server_set_approvals(const Args& args, CommandContext& ctx) { return set_policy(args, ctx, "server"); }
int client_set_approvals(const Args& args, CommandContext& ctx) { return set_policy(args, ctx, "client"); }

}  // namespace bastion::gateway::admin
