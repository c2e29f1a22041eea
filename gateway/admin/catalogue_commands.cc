// catalogue add | list | remove: the operations a server's grants can name.
#include <ostream>

#include "authz/sftp_policy.h"

#include "gateway/admin/admin_event.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/table.h"

namespace bastion::gateway::admin {

namespace {

bool is_transfer(authz::OpType t) {
  return t == authz::OpType::Scp || t == authz::OpType::Rsync || t == authz::OpType::Sftp;
}

// limit_text: ", upload only, under /srv/www/**" for a limited transfer entry, "" otherwise.
std::string limit_text(const authz::CatalogueEntry& e) {
  if (!is_transfer(e.type) || (e.direction == authz::TransferLimit::Both && e.path.empty())) return "";
  return ", " + authz::describe_transfer_limit(e);
}

}  // namespace

int catalogue_add(const Args& args, CommandContext& ctx) {
  CommandLine cl("catalogue add",
                 "SERVER OP --type shell|exec|sftp|scp|rsync|forward [--pattern P] "
                 "[--direction upload|download|both] [--path PATTERN]",
                 "Add an allowed operation to a server's catalogue; grants name these operations.");
  cl.options()("type", po::value<std::string>()->required()->value_name("TYPE"),
               "shell, exec, sftp, scp, rsync or forward")(
      "pattern", po::value<std::string>()->default_value("")->value_name("P"),
      "exec: the allowed command (glob per word); forward: host:port")(
      "direction", po::value<std::string>()->default_value("both")->value_name("D"),
      "scp, rsync, sftp: upload, download or both (seen from the operator)")(
      "path", po::value<std::string>()->default_value("")->value_name("PATTERN"),
      "scp, rsync, sftp: the server paths allowed, absolute ('*' within a segment, '**' any depth)");
  cl.positional("SERVER").positional("OP");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto type = authz::parse_op_type((*vm)["type"].as<std::string>());
  if (!type) throw UsageError("--type must be one of shell, exec, sftp, scp, rsync, forward");
  authz::CatalogueEntry e;
  e.name = (*vm)["OP"].as<std::string>();
  e.type = *type;
  e.pattern = (*vm)["pattern"].as<std::string>();
  const auto direction = authz::parse_transfer_limit((*vm)["direction"].as<std::string>());
  if (!direction) throw UsageError("--direction must be one of upload, download, both");
  e.direction = *direction;
  e.path = (*vm)["path"].as<std::string>();
  const auto server = (*vm)["SERVER"].as<std::string>();
  auto added = ctx.store.add_catalogue_entry(server, e);
  if (!added) return refuse(ctx, added.error().message);
  if (auto ev = record_change(ctx, {"admin.catalogue.add", server, nullptr, entry_json(server, *added)}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, entry_json(server, *added));
  } else {
    ctx.out << "catalogue of " << server << ": added " << added->name << " (" << authz::to_string(added->type)
            << (added->pattern.empty() ? "" : " " + added->pattern) << limit_text(*added) << ")\n";
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
  Table table({"NAME", "TYPE", "PATTERN", "DIRECTION", "PATH"});
  for (const auto& e : ctx.store.catalogue_of(server->id)) {
    all.push_back(entry_json(server->name, e));
    const bool transfer = is_transfer(e.type);
    table.add({e.name, authz::to_string(e.type), e.pattern, transfer ? authz::to_string(e.direction) : "",
               transfer ? (e.path.empty() ? "any" : e.path) : ""});
  }
  if (wants_json(*vm)) {
    print_json(ctx, all);
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

int catalogue_remove(const Args& args, CommandContext& ctx) {
  CommandLine cl("catalogue remove", "SERVER OP",
                 "Remove an operation from a server's catalogue; refused while a grant that has not ended names it.");
  cl.positional("SERVER").positional("OP");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto server = (*vm)["SERVER"].as<std::string>();
  auto removed = ctx.store.remove_catalogue_entry(server, (*vm)["OP"].as<std::string>());
  if (!removed) return refuse(ctx, removed.error().message);
  if (auto ev = record_change(ctx, {"admin.catalogue.remove", server, entry_json(server, *removed), nullptr}); !ev) {
    return refuse_unrecorded(ctx, ev.error());
  }
  if (wants_json(*vm)) {
    print_json(ctx, {{"server", server}, {"removed", entry_json(server, *removed)}});
  } else {
    ctx.out << "catalogue of " << server << ": removed " << removed->name << "\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
