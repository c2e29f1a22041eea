// who-has-access: the grants usable on a server right now.
#include <ostream>

#include "gateway/admin/handlers.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/table.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {

int who_has_access(const Args& args, CommandContext& ctx) {
  CommandLine cl("who-has-access", "SERVER", "List the grants usable on a server right now.");
  cl.positional("SERVER");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["SERVER"].as<std::string>();
  const auto server = ctx.store.find_server(name);
  if (!server) return refuse(ctx, "unknown server '" + name + "'");
  const Seconds now = ctx.clock.now();
  const auto grants = ctx.store.who_has_access(server->id, now);
  Table table({"OPERATOR", "LOGIN", "OPS", "UNTIL", "GRANT"});
  for (const auto& g : grants) {
    table.add({g.operator_name, g.login, joined_ops(g.ops), iso8601(g.not_after), std::to_string(g.id)});
  }
  if (wants_json(*vm)) {
    print_json(ctx, grants_json(grants, now));
  } else if (table.empty()) {
    ctx.out << "nobody has access to " << server->name << " now\n";
  } else {
    table.print(ctx.out);
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
