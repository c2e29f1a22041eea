// egress-ca: what a client server needs to trust the bastion's egress certificates, and the CA's
// rotation (gateway/egress_ca.h).
#include <map>
#include <ostream>
#include <set>

#include "authz/text.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/egress_ca.h"

namespace bastion::gateway::admin {
namespace {

// Where the README tells client servers to put the two files; any path works if sshd_config says so.
constexpr const char* kCaFile = "/etc/ssh/bastion_user_ca.pub";
constexpr const char* kPrincipalsDir = "/etc/ssh/bastion_principals";

nlohmann::json keys_json(const std::vector<CaPublicKey>& keys) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& k : keys) {
    nlohmann::json j{{"public_key", k.line}, {"fingerprint", k.fingerprint}, {"current", k.current}};
    if (!k.current) j["retired_at"] = k.retired_at;
    all.push_back(j);
  }
  return all;
}

std::vector<std::string> sshd_config_lines() {
  return {std::string("TrustedUserCAKeys ") + kCaFile, std::string("AuthorizedPrincipalsFile ") + kPrincipalsDir + "/%u"};
}

// fingerprints: the CA's keys as they are, for the before/after of a change.
nlohmann::json fingerprints(const std::string& path) {
  auto keys = egress_ca_keys(path);
  if (!keys) return nullptr;
  return keys_json(*keys);
}

}  // namespace

int egress_ca_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("egress-ca", "[--server S]",
                 "Print what a server needs to accept the bastion's egress certificates: the CA keys for its "
                 "TrustedUserCAKeys file (the current one, and retired ones still trusted), the sshd_config lines, "
                 "and the AuthorizedPrincipalsFile of each login granted on it.");
  cl.options()("server", po::value<std::string>()->value_name("S"), "only this server's logins");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto keys = egress_ca_keys(ctx.keys.egress_ca);
  if (!keys) return refuse(ctx, keys.error().message);
  std::optional<std::string> only;
  if (vm->count("server")) {
    only = (*vm)["server"].as<std::string>();
    if (!ctx.store.find_server(*only)) return refuse(ctx, "unknown server '" + *only + "'");
  }
  // Each login a grant names on a server in certificate mode (live or future grants: a login that
  // will be used must be there before its grant starts).
  const Seconds now = ctx.clock.now();
  std::map<std::string, std::set<std::string>> logins;  // login -> servers
  std::vector<std::string> servers;
  for (const auto& s : ctx.store.list_servers()) {
    if (s.egress != authz::EgressMode::Certificate || (only && s.name != *only)) continue;
    servers.push_back(s.name);
  }
  for (const auto& g : ctx.store.list_grants()) {
    if (g.revoked_at || g.not_after <= now) continue;
    if (std::find(servers.begin(), servers.end(), g.server_name) == servers.end()) continue;
    logins[g.login].insert(g.server_name);
  }
  if (wants_json(*vm)) {
    nlohmann::json principals = nlohmann::json::object();
    for (const auto& [login, on] : logins)
      principals[login] = {{"file", std::string(kPrincipalsDir) + "/" + login}, {"content", login + "\n"},
                           {"servers", on}};
    print_json(ctx, {{"ca_keys", keys_json(*keys)},
                     {"trusted_user_ca_keys", {{"file", kCaFile}, {"content", trusted_ca_file(*keys)}}},
                     {"sshd_config", sshd_config_lines()},
                     {"principals", principals},
                     {"servers", servers}});
    return kExitOk;
  }
  ctx.out << "# " << kCaFile << " (TrustedUserCAKeys): the bastion's egress CA";
  ctx.out << (keys->size() > 1 ? "s; keep the retired ones until every server has the current one\n" : "\n");
  for (const auto& k : *keys) ctx.out << k.line << "\n";
  ctx.out << "#   ";
  for (const auto& k : *keys)
    ctx.out << k.fingerprint << (k.current ? " (current)" : " (retired " + k.retired_at + ")") << "  ";
  ctx.out << "\n# sshd_config:\n";
  for (const auto& line : sshd_config_lines()) ctx.out << line << "\n";
  ctx.out << "# " << kPrincipalsDir << "/LOGIN (AuthorizedPrincipalsFile): the login's own name, for each login granted";
  ctx.out << (only ? " on " + *only : "") << "\n";
  if (logins.empty()) ctx.out << "#   (no live or future grant names a login on a server in certificate mode yet)\n";
  for (const auto& [login, on] : logins) {
    std::string where;
    for (const auto& s : on) where += (where.empty() ? "" : ", ") + s;
    ctx.out << kPrincipalsDir << "/" << login << ": " << login << "    # " << where << "\n";
  }
  return kExitOk;
}

int egress_ca_rotate(const Args& args, CommandContext& ctx) {
  CommandLine cl("egress-ca rotate", "",
                 "Make a new egress CA and sign with it from now on. The old public key stays listed by `egress-ca` "
                 "(servers keep trusting it during the transition) until `egress-ca remove`; its private key is "
                 "destroyed.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto before = fingerprints(ctx.keys.egress_ca);
  if (before.is_null()) {
    // No CA yet (a database from before egress certificates): this creates the first one.
    if (auto st = ensure_egress_ca(ctx.keys.egress_ca); !st) return refuse(ctx, st.error().message);
  } else {
    // The event first, in the command's transaction: a rotation that cannot be recorded is not made.
    const Ed25519Key fresh = generate_ed25519("bastion-egress-ca");
    const auto next = describe_ca(fresh, true);
    nlohmann::json after{{{"public_key", next.line}, {"fingerprint", next.fingerprint}, {"current", true}}};
    if (auto ev = record_change(ctx, {"admin.egress-ca.rotate", "", before, after}); !ev)
      return refuse_unrecorded(ctx, ev.error());
    if (auto done = rotate_egress_ca(ctx.keys.egress_ca, fresh, ctx.clock.now()); !done)
      return refuse(ctx, done.error().message);
  }
  const auto after = fingerprints(ctx.keys.egress_ca);
  if (before.is_null()) {
    if (auto ev = record_change(ctx, {"admin.egress-ca.rotate", "", nullptr, after}); !ev)
      return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"ca_keys", after}});
  } else {
    ctx.out << "egress CA rotated: new certificates are signed by " << after[0]["fingerprint"].get<std::string>()
            << "\nInstall the list printed by `egress-ca` on every server (TrustedUserCAKeys), then remove the old "
               "key with `egress-ca remove FINGERPRINT`.\n";
  }
  return kExitOk;
}

int egress_ca_remove(const Args& args, CommandContext& ctx) {
  CommandLine cl("egress-ca remove", "FINGERPRINT",
                 "Stop listing a retired egress CA (once no server needs it). The current CA cannot be removed.");
  cl.positional("FINGERPRINT");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const std::string fp = (*vm)["FINGERPRINT"].as<std::string>();
  // The event first, in the command's transaction: remove_retired_ca's refusal (the current CA, an
  // unknown fingerprint, no CA) undoes it with the rest.
  const auto before = fingerprints(ctx.keys.egress_ca);
  if (auto ev = record_change(ctx, {"admin.egress-ca.remove", "", before, nullptr, {{"fingerprint", fp}}}); !ev)
    return refuse_unrecorded(ctx, ev.error());
  auto removed = remove_retired_ca(ctx.keys.egress_ca, fp);
  if (!removed) return refuse(ctx, removed.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, {{"removed", fp}, {"ca_keys", fingerprints(ctx.keys.egress_ca)}});
  } else {
    ctx.out << "retired egress CA " << fp << " removed from the list servers trust\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
