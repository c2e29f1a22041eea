// server add | list | show | set-kind | set-host-key | set-env | set-egress | remove
#include <algorithm>
#include <cctype>
#include <ostream>
#include <sstream>

#include "authz/decide.h"
#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/table.h"
#include "gateway/keys.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

// canonical_host_key parses the officer's line with libssh and returns "type base64" without the
// comment: the pin compared at connect time is the key, not its label.
Result<std::string> canonical_host_key(const std::string& line, std::string_view what) {
  auto key = parse_public_key_line(line);
  if (!key) return Error{std::string(what) + ": " + key.error().message};
  return public_key_line(key->get());
}

bool valid_host(std::string_view h) {
  return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == ':' || c == '_';
  });
}

// env_names splits "FOO,BAR" (spaces around names ignored; "" or "-" is none).
std::vector<std::string> env_names(const std::string& text) {
  std::vector<std::string> names;
  if (text == "-") return names;
  std::stringstream in(text);
  for (std::string n; std::getline(in, n, ',');) {
    const auto b = n.find_first_not_of(' '), e = n.find_last_not_of(' ');
    if (b != std::string::npos) names.push_back(n.substr(b, e - b + 1));
  }
  return names;
}

std::string env_text(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s.empty() ? "-" : s;
}

Result<authz::Server> server_from_options(const po::variables_map& vm) {
  authz::Server s;
  s.name = vm["NAME"].as<std::string>();
  s.host = vm["host"].as<std::string>();
  s.port = vm["port"].as<int>();
  s.client = vm["client"].as<std::string>();
  const auto kind = authz::parse_server_kind(vm["kind"].as<std::string>());
  if (!kind) throw UsageError("--kind must be dedicated or shared");
  s.kind = *kind;
  if (!valid_server_name(s.name)) {
    return Error{"server name '" + s.name + "' is not valid: use [A-Za-z0-9][A-Za-z0-9.-], at most 63 characters"};
  }
  if (!valid_host(s.host)) return Error{"--host '" + s.host + "' is not a host name or address"};
  auto host_key = canonical_host_key(vm["host-key"].as<std::string>(), "--host-key");
  if (!host_key) return host_key.error();
  s.host_key = *host_key;
  s.allowed_env = env_names(vm["allow-env"].as<std::string>());
  const auto egress = authz::parse_egress_mode(vm["egress"].as<std::string>());
  if (!egress) throw UsageError("--egress must be certificate or key");
  s.egress = *egress;
  return s;
}

// server_named: the server, or a refusal naming the unknown one.
Result<authz::Server> server_named(CommandContext& ctx, const std::string& name) {
  auto s = ctx.store.find_server(name);
  if (!s) return Error{"unknown server '" + name + "'"};
  return *s;
}

// revoked_json: the grants a change revoked, as they are now (revoked_at set).
nlohmann::json revoked_json(CommandContext& ctx, const std::vector<authz::Grant>& revoked, Seconds now) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& g : revoked) all.push_back(grant_json(ctx.store.find_grant(g.id).value_or(g), now));
  return all;
}

void print_revoked(CommandContext& ctx, const std::vector<authz::Grant>& revoked) {
  for (const auto& g : revoked) {
    ctx.out << "  grant " << g.id << " (" << g.operator_name << " as " << g.login << ") revoked\n";
  }
}

void print_server(CommandContext& ctx, const authz::Server& s, const std::vector<authz::Grant>& access) {
  ctx.out << "server " << s.name << "\n"
          << "  address:  " << s.host << ":" << s.port << "\n"
          << "  client:   " << s.client << "\n"
          << "  kind:     " << authz::to_string(s.kind) << "\n"
          << "  egress:   " << authz::to_string(s.egress)
          << (s.egress == authz::EgressMode::Certificate ? " (a certificate per login; see `egress-ca`)"
                                                         : " (the bastion's egress key; see `egress-key`)")
          << "\n"
          << "  host key: " << s.host_key << "\n"
          << "  env:      LANG, LC_* (UTF-8 or C locales)" << (s.allowed_env.empty() ? "" : ", " + env_text(s.allowed_env))
          << "\n";
  for (const auto& e : ctx.store.catalogue_of(s.id)) {
    ctx.out << "  op:       " << e.name << " (" << authz::to_string(e.type)
            << (e.pattern.empty() ? "" : " " + e.pattern) << ")\n";
  }
  for (const auto& g : access) {
    ctx.out << "  access:   grant " << g.id << ": " << g.operator_name << " as " << g.login << " ("
            << joined_ops(g.ops) << ") until " << authz::format_utc(g.not_after) << "\n";
  }
}

// record_server_change records a change of one server already made in the store (event `kind`,
// before and after) and prints the server as it is now, or "server NAME <what>".
int record_server_change(CommandContext& ctx, const po::variables_map& vm, const std::string& kind,
                         const authz::Server& before, const std::string& what) {
  const auto after = server_json(*ctx.store.find_server(before.name));
  if (auto ev = record_change(ctx, {kind, before.name, server_json(before), after}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(vm)) {
    print_json(ctx, after);
  } else {
    ctx.out << "server " << before.name << " " << what << "\n";
  }
  return kExitOk;
}

}  // namespace

int server_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("server add", "NAME --host H --port P --client C --kind dedicated|shared --host-key KEY",
                 "Register a client's server with its pinned SSH host key. Shared servers can never be granted.");
  cl.options()("host", po::value<std::string>()->required()->value_name("H"), "address or DNS name")(
      "port", po::value<int>()->default_value(22)->value_name("P"), "SSH port")(
      "client", po::value<std::string>()->required()->value_name("C"), "the client owning the server")(
      "kind", po::value<std::string>()->required()->value_name("KIND"), "dedicated or shared")(
      "host-key", po::value<std::string>()->required()->value_name("KEY"), "\"ssh-ed25519 AAAA…\" of the server")(
      "allow-env", po::value<std::string>()->default_value("")->value_name("VAR[,VAR…]"),
      "environment variables operators may send besides LANG/LC_* (never the unsafe set: README \"Environment\")")(
      "egress", po::value<std::string>()->default_value("certificate")->value_name("MODE"),
      "how the bastion logs in: certificate (one per login, from `egress-ca`) or key (the standing `egress-key`)");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto s = server_from_options(*vm);
  if (!s) return refuse(ctx, s.error().message);
  auto added = ctx.store.add_server(*s);
  if (!added) return refuse(ctx, added.error().message);
  if (auto ev = record_change(ctx, {"admin.server.add", added->name, nullptr, server_json(*added)}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, server_json(*added));
  } else {
    ctx.out << "server " << added->name << " added (" << authz::to_string(added->kind) << ", client "
            << added->client << ", " << added->host << ":" << added->port << ")\n";
  }
  return kExitOk;
}

int server_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("server list", "", "List registered servers (a client reviewer sees its own client's only).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  nlohmann::json all = nlohmann::json::array();
  Table table({"NAME", "HOST", "PORT", "CLIENT", "KIND", "EGRESS", "ALLOWED ENV"});
  for (const auto& s : ctx.store.list_servers()) {
    if (!ctx.sees_client(s.client)) continue;
    all.push_back(server_json(s));
    table.add({s.name, s.host, std::to_string(s.port), s.client, authz::to_string(s.kind), authz::to_string(s.egress),
               env_text(s.allowed_env)});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int server_show(const Args& args, CommandContext& ctx) {
  CommandLine cl("server show", "NAME", "Show a server: address, client, kind, pinned key, catalogue, who has access.");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto s = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!s) return refuse(ctx, s.error().message);
  const Seconds now = ctx.clock.now();
  const auto access = ctx.store.who_has_access(s->id, now);
  if (wants_json(*vm)) {
    auto j = server_json(*s);
    j["catalogue"] = nlohmann::json::array();
    for (const auto& e : ctx.store.catalogue_of(s->id)) j["catalogue"].push_back(entry_json(s->name, e));
    j["access"] = grants_json(access, now);
    print_json(ctx, j);
  } else {
    print_server(ctx, *s, access);
  }
  return kExitOk;
}

int server_set_kind(const Args& args, CommandContext& ctx) {
  CommandLine cl("server set-kind", "NAME dedicated|shared",
                 "Change a server's kind. Making it shared revokes every grant on it that has not ended.");
  cl.positional("NAME").positional("KIND");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto kind = authz::parse_server_kind((*vm)["KIND"].as<std::string>());
  if (!kind) throw UsageError("KIND must be dedicated or shared");
  auto before = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!before) return refuse(ctx, before.error().message);
  const Seconds now = ctx.clock.now();
  auto revoked = ctx.store.set_server_kind(before->name, *kind, now);
  if (!revoked) return refuse(ctx, revoked.error().message);
  ChangeRecord record{"admin.server.set-kind", before->name, server_json(*before),
                      server_json(*ctx.store.find_server(before->name))};
  record.extra = {{"revoked_grants", revoked_json(ctx, *revoked, now)},
                  {"reason", "server " + before->name + " made " + authz::to_string(*kind)}};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, {{"server", record.after}, {"revoked_grants", record.extra["revoked_grants"]}});
  } else {
    ctx.out << "server " << before->name << " is now " << authz::to_string(*kind) << "\n";
    print_revoked(ctx, *revoked);
  }
  return kExitOk;
}

int server_set_host_key(const Args& args, CommandContext& ctx) {
  CommandLine cl("server set-host-key", "NAME KEY",
                 "Pin a new SSH host key for a server (after a reinstall or key rotation): \"ssh-ed25519 AAAA…\".");
  cl.positional("NAME").positional("KEY");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto before = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!before) return refuse(ctx, before.error().message);
  auto key = canonical_host_key((*vm)["KEY"].as<std::string>(), "KEY");
  if (!key) return refuse(ctx, key.error().message);
  if (auto st = ctx.store.set_host_key(before->name, *key); !st) return refuse(ctx, st.error().message);
  return record_server_change(ctx, *vm, "admin.server.set-host-key", *before, "now pins " + *key);
}

int server_set_env(const Args& args, CommandContext& ctx) {
  CommandLine cl("server set-env", "NAME VAR[,VAR…]|-",
                 "Replace the environment variables operators may send to a server besides LANG and LC_* "
                 "(\"-\" allows none). Names of the unsafe set (README \"Environment\") are refused.");
  cl.positional("NAME").positional("VARS");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto before = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!before) return refuse(ctx, before.error().message);
  const auto names = env_names((*vm)["VARS"].as<std::string>());
  if (auto st = ctx.store.set_allowed_env(before->name, names); !st) return refuse(ctx, st.error().message);
  return record_server_change(ctx, *vm, "admin.server.set-env", *before,
                              "now lets operators send " + env_text(names) + " besides LANG and LC_*");
}

int server_set_egress(const Args& args, CommandContext& ctx) {
  CommandLine cl("server set-egress", "NAME certificate|key",
                 "Choose how the bastion logs in to a server from its next login on: certificate (a short-lived "
                 "certificate per login, trusted through `egress-ca`) or key (the standing `egress-key`).");
  cl.positional("NAME").positional("MODE");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto mode = authz::parse_egress_mode((*vm)["MODE"].as<std::string>());
  if (!mode) throw UsageError("MODE must be certificate or key");
  auto before = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!before) return refuse(ctx, before.error().message);
  if (auto st = ctx.store.set_egress_mode(before->name, *mode); !st) return refuse(ctx, st.error().message);
  return record_server_change(ctx, *vm, "admin.server.set-egress", *before,
                              std::string("now uses ") + authz::to_string(*mode) + " egress");
}

int server_remove(const Args& args, CommandContext& ctx) {
  CommandLine cl("server remove", "NAME [--force]",
                 "Retire a server: it can no longer be granted or reached; its history stays and its name is not "
                 "reused. Refused while grants on it have not ended, unless --force, which revokes them.");
  cl.options()("force", po::bool_switch(), "revoke the grants that have not ended");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  auto before = server_named(ctx, (*vm)["NAME"].as<std::string>());
  if (!before) return refuse(ctx, before.error().message);
  const Seconds now = ctx.clock.now();
  auto revoked = ctx.store.remove_server(before->name, (*vm)["force"].as<bool>(), now);
  if (!revoked) return refuse(ctx, revoked.error().message);
  ChangeRecord record{"admin.server.remove", before->name, server_json(*before), nullptr};
  record.extra = {{"revoked_grants", revoked_json(ctx, *revoked, now)}, {"reason", "server " + before->name + " removed"}};
  if (auto ev = record_change(ctx, record); !ev) return refuse_unrecorded(ctx, ev.error());
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", before->name}, {"removed", true}, {"revoked_grants", record.extra["revoked_grants"]}});
  } else {
    ctx.out << "server " << before->name << " removed\n";
    print_revoked(ctx, *revoked);
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
