#pragma once
// How access requests are shown (request commands, grant show) and how lapses are settled: one
// JSON shape for --json output and for the {before, after} of their audit events.
#include <nlohmann/json.hpp>
#include <string>

#include "authz/access_request.h"
#include "authz/request_store.h"
#include "gateway/admin/commands.h"

namespace bastion::gateway::admin {

// request_state_text: authz::request_state at `now`, reading the request's grant from ctx.store.
std::string request_state_text(CommandContext& ctx, const authz::AccessRequest& r, Seconds now);

// request_json: id, operator, server, client, login, ops, duration (seconds), from, reason, needs,
// waiting_for, state, created_at, lapses_at, approvals [{approver, as, at, reason}], decided_by,
// decided_at, decision_reason, grant_id.
nlohmann::json request_json(CommandContext& ctx, const authz::AccessRequest& r, Seconds now);

void print_request(CommandContext& ctx, const authz::AccessRequest& r);

// duration_text: "2h", "90m", "45s".
std::string duration_text(std::chrono::seconds d);

// settle_lapsed_requests marks lapsed the pending requests whose deadline has passed, each with a
// request.lapse event (actor "bastion", at the time it is noticed; details say when it lapsed).
// Called first by every request command, inside its transaction; throws db::DbError if the event
// cannot be written, so the command is refused and nothing changes.
void settle_lapsed_requests(CommandContext& ctx, authz::RequestStore& requests);

// print_grant_request writes, for `grant show`, the request a grant came from (its id, reason and
// approvers); nothing for a grant an officer gave directly. grant_request_json: the same, or null.
void print_grant_request(CommandContext& ctx, std::int64_t grant_id);
nlohmann::json grant_request_json(CommandContext& ctx, std::int64_t grant_id);

}  // namespace bastion::gateway::admin
