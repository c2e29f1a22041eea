// operator add | list | disable | enable | key add
#include <ostream>

#include "authz/sqlite_store.h"
#include "authz/totp.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/qr_text.h"
#include "gateway/admin/table.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

constexpr std::string_view kIssuer = "Bastion";

nlohmann::json key_json(const authz::OperatorKey& k) {
  return {{"type", k.type}, {"fingerprint", k.fingerprint}, {"comment", k.comment}};
}

// parse_keys reads and checks every key of a file before anything is written, so a bad line does
// not leave a half-registered account behind.
Result<std::vector<authz::OperatorKey>> parse_keys(const std::string& path) {
  auto lines = read_key_file(path);
  if (!lines) return lines.error();
  std::vector<authz::OperatorKey> keys;
  for (const auto& line : *lines) {
    auto key = authz::parse_authorized_key(line);
    if (!key) return Error{path + ": " + key.error().message};
    keys.push_back(*key);
  }
  return keys;
}

// registered_owner names the operator who already holds key, if any.
std::optional<std::string> registered_owner(authz::Store& store, const authz::OperatorKey& key) {
  for (const auto& op : store.list_operators()) {
    for (const auto& k : store.keys_of(op.id)) {
      if (k.type == key.type && k.base64 == key.base64) return op.name;
    }
  }
  return std::nullopt;
}

Status check_keys_free(authz::Store& store, const std::vector<authz::OperatorKey>& keys) {
  for (const auto& k : keys) {
    if (auto owner = registered_owner(store, k)) {
      return Error{"key " + k.fingerprint + " is already registered to operator '" + *owner + "'"};
    }
  }
  return ok_status();
}

Result<std::vector<authz::OperatorKey>> add_keys(authz::Store& store, const std::string& name,
                                                 const std::vector<authz::OperatorKey>& keys) {
  std::vector<authz::OperatorKey> added;
  for (const auto& k : keys) {
    auto r = store.add_key(name, k.type + " " + k.base64 + (k.comment.empty() ? "" : " " + k.comment));
    if (!r) return r.error();
    added.push_back(*r);
  }
  return added;
}

void print_enrolment(CommandContext& ctx, const authz::Operator& op, const std::vector<authz::OperatorKey>& keys,
                     const std::string& uri) {
  ctx.out << "operator " << op.name << " added (role " << authz::to_string(op.role)
          << (op.client.empty() ? "" : ", client " + op.client) << ")\n";
  for (const auto& k : keys) ctx.out << "key:         " << k.fingerprint << " " << k.type << " " << k.comment << "\n";
  ctx.out << "TOTP secret: " << op.totp_secret << "\n"
          << "otpauth URI: " << uri << "\n";
  if (auto qr = qr_text(uri)) ctx.out << "\n" << *qr << "\n";
  ctx.out << "Give the secret to " << op.name << " over a trusted channel; it is not shown again.\n";
}

authz::Role role_option(const po::variables_map& vm) {
  const auto role = authz::parse_role(vm["role"].as<std::string>());
  if (!role) throw UsageError("--role must be operator, officer or client");
  return *role;
}

int set_disabled(const Args& args, CommandContext& ctx, bool disabled) {
  CommandLine cl(disabled ? "operator disable" : "operator enable", "NAME",
                 disabled ? "Disable an account: it can no longer log in; its grants stay for the record."
                          : "Re-enable a disabled account.");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  if (auto st = ctx.store.set_operator_disabled(name, disabled); !st) return refuse(ctx, st.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"disabled", disabled}});
  } else {
    ctx.out << "operator " << name << (disabled ? " disabled" : " enabled") << "\n";
  }
  return kExitOk;
}

}  // namespace

int operator_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator add", "NAME --key FILE [--role operator|officer|client] [--client C]",
                 "Register an account with its public key(s) and a new TOTP secret (both factors are required).");
  cl.options()("key", po::value<std::string>()->required()->value_name("FILE"), "public key file (authorized_keys lines)")(
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
  auto keys = parse_keys((*vm)["key"].as<std::string>());
  if (!keys) return refuse(ctx, keys.error().message);
  if (auto st = check_keys_free(ctx.store, *keys); !st) return refuse(ctx, st.error().message);
  auto added = ctx.store.add_operator(op);
  if (!added) return refuse(ctx, added.error().message);
  auto added_keys = add_keys(ctx.store, op.name, *keys);
  if (!added_keys) return refuse(ctx, added_keys.error().message);
  const std::string uri = authz::otpauth_uri(kIssuer, op.name, op.totp_secret);
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", op.name}, {"totp_secret", op.totp_secret}, {"otpauth_uri", uri}});
  } else {
    print_enrolment(ctx, *added, *added_keys, uri);
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
    nlohmann::json keys = nlohmann::json::array();
    std::string fingerprints;
    for (const auto& k : ctx.store.keys_of(op.id)) {
      keys.push_back(key_json(k));
      fingerprints += (fingerprints.empty() ? "" : " ") + k.fingerprint;
    }
    // The TOTP secret is never listed: it is shown once, at enrolment.
    all.push_back({{"name", op.name}, {"role", authz::to_string(op.role)}, {"client", op.client},
                   {"disabled", op.disabled}, {"keys", keys}});
    table.add({op.name, authz::to_string(op.role), op.client, op.disabled ? "disabled" : "enabled", fingerprints});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int operator_disable(const Args& args, CommandContext& ctx) { return set_disabled(args, ctx, true); }
int operator_enable(const Args& args, CommandContext& ctx) { return set_disabled(args, ctx, false); }

int operator_key_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator key add", "NAME --key FILE", "Register more public keys for an existing account.");
  cl.options()("key", po::value<std::string>()->required()->value_name("FILE"), "public key file (authorized_keys lines)");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  if (!ctx.store.find_operator(name)) return refuse(ctx, "unknown operator '" + name + "'");
  auto keys = parse_keys((*vm)["key"].as<std::string>());
  if (!keys) return refuse(ctx, keys.error().message);
  if (auto st = check_keys_free(ctx.store, *keys); !st) return refuse(ctx, st.error().message);
  auto added = add_keys(ctx.store, name, *keys);
  if (!added) return refuse(ctx, added.error().message);
  nlohmann::json keys_out = nlohmann::json::array();
  for (const auto& k : *added) keys_out.push_back(key_json(k));
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"keys", keys_out}});
  } else {
    for (const auto& k : *added) ctx.out << "key " << k.fingerprint << " added to " << name << "\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
