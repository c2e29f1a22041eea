#include "gateway/admin/request_view.h"

#include <ostream>

#include "audit/access_json.h"
#include "authz/decide.h"
#include "authz/sqlite_request_store.h"
#include "gateway/admin/model_json.h"
#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {
namespace {

using Json = nlohmann::json;

std::string approvers_text(const authz::AccessRequest& r) {
  std::string out;
  for (const auto& a : r.approvals) {
    out += (out.empty() ? "" : ", ") + a.approver + " (" + authz::to_string(a.as) + ") at " + authz::format_utc(a.at);
  }
  return out.empty() ? "none yet" : out;
}

}  // namespace

std::string duration_text(std::chrono::seconds d) {
  const auto s = d.count();
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string request_state_text(CommandContext& ctx, const authz::AccessRequest& r, Seconds now) {
  std::optional<authz::Grant> grant;
  if (r.grant_id) grant = ctx.store.find_grant(*r.grant_id);
  return authz::to_string(authz::request_state(r, grant ? &*grant : nullptr, now));
}

Json request_json(CommandContext& ctx, const authz::AccessRequest& r, Seconds now) {
  Json j = audit::request_record_json(r);
  j.erase("status");  // people read the state, which follows the grant
  j["waiting_for"] = r.status == authz::RequestStatus::Pending ? authz::waiting_for(r) : "";
  j["state"] = request_state_text(ctx, r, now);
  return j;
}

void print_request(CommandContext& ctx, const authz::AccessRequest& r) {
  const Seconds now = ctx.clock.now();
  ctx.out << "request " << r.id << "\n"
          << "  operator:  " << r.operator_name << "\n"
          << "  server:    " << r.server_name << " (client " << r.client << ")\n"
          << "  login:     " << r.login << "\n"
          << "  ops:       " << joined_ops(r.ops) << "\n"
          << "  for:       " << duration_text(r.duration)
          << (r.from ? ", not before " + authz::format_utc(*r.from) : std::string()) << "\n"
          << "  reason:    " << r.reason << "\n"
          << "  asked at:  " << authz::format_utc(r.created_at) << "\n"
          << "  needs:     " << authz::to_string(r.needs) << " approval\n"
          << "  approvals: " << approvers_text(r) << "\n"
          << "  state:     " << request_state_text(ctx, r, now);
  if (r.status == authz::RequestStatus::Pending && !authz::is_lapsed(r, now)) {
    ctx.out << ", waits for " << authz::waiting_for(r) << " until " << authz::format_utc(r.lapses_at);
  }
  if (r.decided_at) {
    ctx.out << " by " << r.decided_by << " at " << authz::format_utc(*r.decided_at)
            << (r.decision_reason.empty() ? "" : ": " + r.decision_reason);
  }
  if (r.grant_id) ctx.out << " (grant " << *r.grant_id << ")";
  ctx.out << "\n";
}

void settle_lapsed_requests(CommandContext& ctx, authz::RequestStore& requests) {
  const Seconds now = ctx.clock.now();
  for (const auto& r : requests.lapse_due(now)) {
    audit::Event e;
    e.at = now;
    e.kind = "request.lapse";
    e.actor = "bastion";
    e.server = r.server_name;
    e.details = {{"request", r.id}, {"lapsed_at", iso8601(r.lapses_at)}, {"after", request_json(ctx, r, now)}};
    if (auto st = ctx.events.append(e); !st) {
      throw db::DbError("the lapse of request " + std::to_string(r.id) + " cannot be recorded: " + st.error().message);
    }
  }
}

Json grant_request_json(CommandContext& ctx, std::int64_t grant_id) {
  if (!ctx.db) return nullptr;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = requests.find_by_grant(grant_id);
  if (!r) return nullptr;
  return {{"id", r->id}, {"reason", r->reason}, {"approvers", audit::approvals_json(*r)}};
}

void print_grant_request(CommandContext& ctx, std::int64_t grant_id) {
  if (!ctx.db) return;
  authz::SqliteRequestStore requests(ctx.db);
  const auto r = requests.find_by_grant(grant_id);
  if (!r) return;
  ctx.out << "  request:    " << r->id << " by " << r->operator_name << ": " << r->reason << "\n"
          << "  approvers:  " << approvers_text(*r) << "\n";
}

}  // namespace bastion::gateway::admin
