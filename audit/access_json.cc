#include "audit/access_json.h"

#include "authz/text.h"

namespace bastion::audit {
namespace {

using Json = nlohmann::json;

Json time_or_null(const std::optional<Seconds>& t) { return t ? Json(iso8601_utc(*t)) : Json(nullptr); }

}  // namespace

std::string grant_state(const authz::Grant& g, Seconds now) {
  if (g.revoked_at) return "revoked";
  if (now >= g.not_after) return "expired";
  if (now < g.not_before) return "pending";
  return "active";
}

Json grant_json(const authz::Grant& g, Seconds now) {
  return {{"id", g.id},
          {"operator", g.operator_name},
          {"server", g.server_name},
          {"login", g.login},
          {"ops", g.ops},
          {"not_before", iso8601_utc(g.not_before)},
          {"not_after", iso8601_utc(g.not_after)},
          {"revoked", g.revoked_at.has_value()},
          {"revoked_at", time_or_null(g.revoked_at)},
          {"state", grant_state(g, now)},
          {"reason", g.reason},
          {"granted_by", g.granted_by},
          {"created_at", iso8601_utc(g.created_at)},
          {"emergency", g.emergency}};
}

Json approvals_json(const authz::AccessRequest& r) {
  Json out = Json::array();
  for (const auto& a : r.approvals) {
    out.push_back(
        {{"approver", a.approver}, {"as", authz::to_string(a.as)}, {"at", iso8601_utc(a.at)}, {"reason", a.reason}});
  }
  return out;
}

Json request_record_json(const authz::AccessRequest& r) {
  return {{"id", r.id},
          {"operator", r.operator_name},
          {"server", r.server_name},
          {"client", r.client},
          {"login", r.login},
          {"ops", r.ops},
          {"duration", r.duration.count()},
          {"from", time_or_null(r.from)},
          {"reason", r.reason},
          {"needs", authz::to_string(r.needs)},
          {"status", authz::to_string(r.status)},
          {"created_at", iso8601_utc(r.created_at)},
          {"lapses_at", iso8601_utc(r.lapses_at)},
          {"approvals", approvals_json(r)},
          {"decided_by", r.decided_by},
          {"decided_at", time_or_null(r.decided_at)},
          {"decision_reason", r.decision_reason},
          {"grant_id", r.grant_id ? Json(*r.grant_id) : Json(nullptr)}};
}

}  // namespace bastion::audit
