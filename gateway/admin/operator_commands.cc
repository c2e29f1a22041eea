// operator add | list | show | disable | enable
#include <ostream>

#include "authz/decide.h"
#include "authz/totp.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/enrolment.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/key_file.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/table.h"
#include "gateway/admin/web_enrolment.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

nlohmann::json account_json(CommandContext& ctx, const authz::Operator& op) {
  auto j = operator_json(op);
  j["keys"] = keys_json(ctx.store.keys_of(op.id));
  return j;
}

authz::Role role_option(const po::variables_map& vm) {
  const auto role = authz::parse_role(vm["role"].as<std::string>());
  if (!role) throw UsageError("--role must be operator, officer or client");
  return *role;
}

void print_added(CommandContext& ctx, const authz::Operator& op, const std::vector<authz::OperatorKey>& keys) {
  ctx.out << "operator " << op.name << " added (role " << authz::to_string(op.role)
          << (op.client.empty() ? "" : ", client " + op.client) << ")\n";
  for (const auto& k : keys) ctx.out << "key:         " << k.fingerprint << " " << k.type << " " << k.comment << "\n";
  print_enrolment_text(ctx, op.name, op.totp_secret);
}

int set_disabled(const Args& args, CommandContext& ctx, bool disabled) {
  CommandLine cl(disabled ? "operator disable" : "operator enable", "NAME",
                 disabled ? "Disable an account: it can no longer log in; its grants stay for the record."
                          : "Re-enable a disabled account.");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto before = ctx.store.find_operator(name);
  if (!before) return refuse(ctx, "unknown operator '" + name + "'");
  if (before->disabled == disabled) {
    return refuse(ctx, "operator " + name + " is already " + (disabled ? "disabled" : "enabled"));
  }
  if (auto st = ctx.store.set_operator_disabled(name, disabled); !st) return refuse(ctx, st.error().message);
  const auto after = ctx.store.find_operator(name);
  const std::string kind = disabled ? "admin.operator.disable" : "admin.operator.enable";
  if (auto ev = record_change(ctx, {kind, "", operator_json(*before), operator_json(*after)}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"disabled", disabled}});
  } else {
    ctx.out << "operator " << name << (disabled ? " disabled" : " enabled") << "\n";
  }
  return kExitOk;
}

void print_account(CommandContext& ctx, const authz::Operator& op, const std::vector<authz::Grant>& grants) {
  ctx.out << "operator " << op.name << "\n"
          << "  role:   " << authz::to_string(op.role) << (op.client.empty() ? "" : " of client " + op.client) << "\n"
          << "  state:  " << (op.disabled ? "disabled" : "enabled") << "\n";
  for (const auto& k : ctx.store.keys_of(op.id)) {
    ctx.out << "  key:    " << k.fingerprint << " " << k.type << " " << k.comment << "\n";
  }
  const Seconds now = ctx.clock.now();
  for (const auto& g : grants) {
    ctx.out << "  grant " << g.id << ": " << joined_ops(g.ops) << " as " << g.login << " on " << g.server_name
            << " until " << authz::format_utc(g.not_after) << " (" << grant_state(g, now) << ")\n";
  }
}

}  // namespace

int operator_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator add", "NAME --key FILE|--web [--role operator|officer|client] [--client C] [--web]",
                 "Register an account with its public key(s) and a new TOTP secret (both factors are required).\n"
                 "--web also prints a one-time link to set a web portal password; a web-only reviewer needs no key.");
  cl.options()("key", po::value<std::string>()->value_name("FILE"), "public key file (authorized_keys lines)")(
      "web", po::bool_switch(), "print a web portal enrolment link (client reviewers and officers)")(
      "portal-url", po::value<std::string>()->default_value(kDefaultPortalUrl)->value_name("URL"),
      "where bastion-web is reached (with --web)")(
      "role", po::value<std::string>()->default_value("operator")->value_name("ROLE"), "operator, officer or client")(
      "client", po::value<std::string>()->default_value("")->value_name("C"), "the client a client account reviews");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::NewOperator op{(*vm)["NAME"].as<std::string>(), role_option(*vm), (*vm)["client"].as<std::string>(),
                        authz::new_totp_secret()};
  if (!valid_operator_name(op.name)) {
    return refuse(ctx, "operator name '" + op.name + "' is not valid: use [a-z_][a-z0-9_.-], at most 32 characters");
  }
  const bool web = (*vm)["web"].as<bool>();
  if (vm->count("key") == 0 && !web) throw UsageError("--key FILE is required (or --web for a web-only reviewer)");
  auto keys = vm->count("key") == 0 ? Result<std::vector<authz::OperatorKey>>(std::vector<authz::OperatorKey>{})
                                    : parse_keys((*vm)["key"].as<std::string>());
  if (!keys) return refuse(ctx, keys.error().message);
  if (auto st = check_keys_free(ctx.store, *keys); !st) return refuse(ctx, st.error().message);
  auto added = ctx.store.add_operator(op);
  if (!added) return refuse(ctx, added.error().message);
  auto added_keys = add_keys(ctx.store, op.name, *keys);
  if (!added_keys) return refuse(ctx, added_keys.error().message);
  if (auto ev = record_change(ctx, {"admin.operator.add", "", nullptr, account_json(ctx, *added)}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  std::string web_link;
  if (web) {
    auto link = issue_web_enrolment(ctx, *added, (*vm)["portal-url"].as<std::string>());
    if (!link) return refuse(ctx, link.error().message);  // the whole change is undone
    web_link = *link;
  }
  if (wants_json(*vm)) {
    print_enrolment_json(ctx, op.name, op.totp_secret, web_link);
  } else {
    print_added(ctx, *added, *added_keys);
    if (!web_link.empty()) ctx.out << "web enrolment link (once, 24 hours): " << web_link << "\n";
  }
  return kExitOk;
}

int operator_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator list", "", "List accounts with their role, state and key fingerprints.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  nlohmann::json all = nlohmann::json::array();
  Table table({"NAME", "ROLE", "CLIENT", "STATE", "KEYS"});
  for (const auto& op : ctx.store.list_operators()) {
    std::string fingerprints;
    for (const auto& k : ctx.store.keys_of(op.id)) fingerprints += (fingerprints.empty() ? "" : " ") + k.fingerprint;
    // The TOTP secret is never listed: it is shown once, at enrolment.
    all.push_back(account_json(ctx, op));
    table.add({op.name, authz::to_string(op.role), op.client, op.disabled ? "disabled" : "enabled", fingerprints});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int operator_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator show", "NAME", "Show an account: role, state, keys and every grant it holds or held.");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto op = ctx.store.find_operator(name);
  if (!op) return refuse(ctx, "unknown operator '" + name + "'");
  const auto grants = ctx.store.grants_of(op->id);
  if (wants_json(*vm)) {
    auto j = account_json(ctx, *op);
    j["grants"] = grants_json(grants, ctx.clock.now());
    print_json(ctx, j);
  } else {
    print_account(ctx, *op, grants);
  }
  return kExitOk;
}

int operator_disable(const Args& args, CommandContext& ctx) { return set_disabled(args, ctx, true); }
int operator_enable(const Args& args, CommandContext& ctx) { return set_disabled(args, ctx, false); }

}  // namespace bastion::gateway::admin
