// operator key add | key remove | totp reset: an account's two factors.
#include <ostream>

#include "authz/totp.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/enrolment.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/key_file.h"
#include "gateway/admin/model_json.h"

namespace bastion::gateway::admin {
namespace {

// keys_record: the account's keys before and after, for the event of a key change.
ChangeRecord keys_record(std::string kind, const authz::Operator& op, nlohmann::json before_keys,
                         nlohmann::json after_keys) {
  auto before = operator_json(op);
  auto after = before;
  before["keys"] = std::move(before_keys);
  after["keys"] = std::move(after_keys);
  return {std::move(kind), "", before, after};
}

}  // namespace

int operator_key_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator key add", "NAME --key FILE", "Register more public keys for an existing account.");
  cl.options()("key", po::value<std::string>()->required()->value_name("FILE"), "public key file (authorized_keys lines)");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto op = ctx.store.find_operator(name);
  if (!op) return refuse(ctx, "unknown operator '" + name + "'");
  auto keys = parse_keys((*vm)["key"].as<std::string>());
  if (!keys) return refuse(ctx, keys.error().message);
  if (auto st = check_keys_free(ctx.store, *keys); !st) return refuse(ctx, st.error().message);
  const auto before = keys_json(ctx.store.keys_of(op->id));
  auto added = add_keys(ctx.store, name, *keys);
  if (!added) return refuse(ctx, added.error().message);
  const auto record = keys_record("admin.operator.key.add", *op, before, keys_json(ctx.store.keys_of(op->id)));
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"keys", keys_json(*added)}});
  } else {
    for (const auto& k : *added) ctx.out << "key " << k.fingerprint << " added to " << name << "\n";
  }
  return kExitOk;
}

int operator_key_remove(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator key remove", "NAME FINGERPRINT",
                 "Remove one public key from an account (FINGERPRINT as `operator show` prints it, SHA256:…).");
  cl.positional("NAME").positional("FINGERPRINT");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto op = ctx.store.find_operator(name);
  if (!op) return refuse(ctx, "unknown operator '" + name + "'");
  const auto before = keys_json(ctx.store.keys_of(op->id));
  auto removed = ctx.store.remove_key(name, (*vm)["FINGERPRINT"].as<std::string>());
  if (!removed) return refuse(ctx, removed.error().message);
  const auto left = ctx.store.keys_of(op->id);
  if (auto ev = record_change(ctx, keys_record("admin.operator.key.remove", *op, before, keys_json(left))); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"removed", key_json(*removed)}, {"keys", keys_json(left)}});
  } else {
    ctx.out << "key " << removed->fingerprint << " removed from " << name << "\n";
    if (left.empty()) ctx.out << name << " has no key left and cannot log in until one is added\n";
  }
  return kExitOk;
}

int operator_totp_reset(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator totp reset", "NAME",
                 "Give an account a new TOTP secret (lost or exposed authenticator); the old one stops working now.");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto op = ctx.store.find_operator(name);
  if (!op) return refuse(ctx, "unknown operator '" + name + "'");
  const std::string secret = authz::new_totp_secret();
  if (auto st = ctx.store.reset_totp(name, secret); !st) return refuse(ctx, st.error().message);
  // The event says that the secret changed, never what it is.
  auto before = operator_json(*op), after = operator_json(*op);
  before["totp"] = "previous secret";
  after["totp"] = "new secret";
  if (auto ev = record_change(ctx, {"admin.operator.totp.reset", "", before, after}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_enrolment_json(ctx, name, secret);
  } else {
    ctx.out << "operator " << name << ": TOTP secret reset\n";
    print_enrolment_text(ctx, name, secret);
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
