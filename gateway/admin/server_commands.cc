// server add | list, catalogue add | list
#include <algorithm>
#include <cctype>
#include <ostream>

#include "gateway/admin/handlers.h"
#include "gateway/admin/table.h"
#include "gateway/keys.h"
#include "gateway/target.h"

namespace bastion::gateway::admin {
namespace {

nlohmann::json server_json(const authz::Server& s) {
  return {{"name", s.name},     {"host", s.host}, {"port", s.port}, {"client", s.client},
          {"kind", authz::to_string(s.kind)}, {"host_key", s.host_key}};
}

nlohmann::json entry_json(std::string_view server, const authz::CatalogueEntry& e) {
  return {{"server", server}, {"name", e.name}, {"type", authz::to_string(e.type)}, {"pattern", e.pattern}};
}

// canonical_host_key parses the officer's line with libssh and returns "type base64" without the
// comment: the pin compared at connect time is the key, not its label.
Result<std::string> canonical_host_key(const std::string& line) {
  auto key = parse_public_key_line(line);
  if (!key) return Error{"--host-key: " + key.error().message};
  return public_key_line(key->get());
}

bool valid_host(std::string_view h) {
  return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == ':' || c == '_';
  });
}

}  // namespace

int server_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("server add", "NAME --host H --port P --client C --kind dedicated|shared --host-key KEY",
                 "Register a client's server with its pinned SSH host key. Shared servers can never be granted.");
  cl.options()("host", po::value<std::string>()->required()->value_name("H"), "address or DNS name")(
      "port", po::value<int>()->default_value(22)->value_name("P"), "SSH port")(
      "client", po::value<std::string>()->required()->value_name("C"), "the client owning the server")(
      "kind", po::value<std::string>()->required()->value_name("KIND"), "dedicated or shared")(
      "host-key", po::value<std::string>()->required()->value_name("KEY"), "\"ssh-ed25519 AAAA…\" of the server");
  cl.positional("NAME");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  authz::Server s;
  s.name = (*vm)["NAME"].as<std::string>();
  s.host = (*vm)["host"].as<std::string>();
  s.port = (*vm)["port"].as<int>();
  s.client = (*vm)["client"].as<std::string>();
  const auto kind = authz::parse_server_kind((*vm)["kind"].as<std::string>());
  if (!kind) throw UsageError("--kind must be dedicated or shared");
  s.kind = *kind;
  if (!valid_server_name(s.name)) {
    return refuse(ctx, "server name '" + s.name + "' is not valid: use [A-Za-z0-9][A-Za-z0-9.-], at most 63 characters");
  }
  if (!valid_host(s.host)) return refuse(ctx, "--host '" + s.host + "' is not a host name or address");
  auto host_key = canonical_host_key((*vm)["host-key"].as<std::string>());
  if (!host_key) return refuse(ctx, host_key.error().message);
  s.host_key = *host_key;
  auto added = ctx.store.add_server(s);
  if (!added) return refuse(ctx, added.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, server_json(*added));
  } else {
    ctx.out << "server " << added->name << " added (" << authz::to_string(added->kind) << ", client "
            << added->client << ", " << added->host << ":" << added->port << ")\n";
  }
  return kExitOk;
}

int server_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("server list", "", "List registered servers.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  nlohmann::json all = nlohmann::json::array();
  Table table({"NAME", "HOST", "PORT", "CLIENT", "KIND"});
  for (const auto& s : ctx.store.list_servers()) {
    all.push_back(server_json(s));
    table.add({s.name, s.host, std::to_string(s.port), s.client, authz::to_string(s.kind)});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int catalogue_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("catalogue add", "SERVER OP --type shell|exec|sftp|scp|rsync|forward [--pattern P]",
                 "Add an allowed operation to a server's catalogue; grants name these operations.");
  cl.options()("type", po::value<std::string>()->required()->value_name("TYPE"),
               "shell, exec, sftp, scp, rsync or forward")(
      "pattern", po::value<std::string>()->default_value("")->value_name("P"),
      "exec: the allowed command (glob per word); forward: host:port");
  cl.positional("SERVER").positional("OP");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto type = authz::parse_op_type((*vm)["type"].as<std::string>());
  if (!type) throw UsageError("--type must be one of shell, exec, sftp, scp, rsync, forward");
  authz::CatalogueEntry e;
  e.name = (*vm)["OP"].as<std::string>();
  e.type = *type;
  e.pattern = (*vm)["pattern"].as<std::string>();
  const auto server = (*vm)["SERVER"].as<std::string>();
  auto added = ctx.store.add_catalogue_entry(server, e);
  if (!added) return refuse(ctx, added.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, entry_json(server, *added));
  } else {
    ctx.out << "catalogue of " << server << ": added " << added->name << " (" << authz::to_string(added->type)
            << (added->pattern.empty() ? "" : " " + added->pattern) << ")\n";
  }
  return kExitOk;
}

int catalogue_list(const Args& args, CommandContext& ctx) {
  CommandLine cl("catalogue list", "SERVER", "List the operations a server's grants can name.");
  cl.positional("SERVER");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["SERVER"].as<std::string>();
  const auto server = ctx.store.find_server(name);
  if (!server) return refuse(ctx, "unknown server '" + name + "'");
  nlohmann::json all = nlohmann::json::array();
  Table table({"NAME", "TYPE", "PATTERN"});
  for (const auto& e : ctx.store.catalogue_of(server->id)) {
    all.push_back(entry_json(server->name, e));
    table.add({e.name, authz::to_string(e.type), e.pattern});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
