#pragma once
// record_change: the audit event of one admin change. Handlers of changing commands call it after
// the store accepted the change and before printing; run_command runs them inside one
// Store::begin_change(), so a failed append (a refusal from the handler) undoes the change too.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gateway/admin/commands.h"

namespace bastion::gateway::admin {

struct ChangeRecord {
  std::string kind;    // "admin.<noun>.<verb>", e.g. "admin.grant.add"
  std::string server;  // the server concerned, if any
  nlohmann::json before = nullptr;  // the object before the change (null when created)
  nlohmann::json after = nullptr;   // the object after it (null when removed)
  nlohmann::json extra = nlohmann::json::object();  // more details, e.g. revoked_grants
};

// record_change appends the event (actor, source and time from ctx; details {before, after, …}).
// On error, refuse_unrecorded below turns it into the handler's refusal.
Status record_change(CommandContext& ctx, const ChangeRecord& r);

// refuse_unrecorded: "the audit event could not be written, so nothing was changed: …".
int refuse_unrecorded(CommandContext& ctx, const Error& e);

}  // namespace bastion::gateway::admin
