#include "gateway/admin/admin_event.h"

#include "gateway/admin/command_line.h"

namespace bastion::gateway::admin {

Status record_change(CommandContext& ctx, const ChangeRecord& r) {
  audit::Event e;
  e.at = ctx.clock.now();
  e.kind = r.kind;
  e.actor = ctx.actor;
  e.source = ctx.source;
  e.server = r.server;
  e.details = r.extra.is_object() ? r.extra : nlohmann::json::object();
  e.details["before"] = r.before;
  e.details["after"] = r.after;
  return ctx.events.append(e);
}

int refuse_unrecorded(CommandContext& ctx, const Error& e) {
  return refuse(ctx, "the audit event could not be written, so nothing was changed: " + e.message);
}

}  // namespace bastion::gateway::admin
