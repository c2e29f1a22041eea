#include "gateway/admin/model_json.h"

#include "gateway/admin/time_text.h"

namespace bastion::gateway::admin {

std::string grant_state(const authz::Grant& g, Seconds now) {
  if (g.revoked_at) return "revoked";
  if (now >= g.not_after) return "expired";
  if (now < g.not_before) return "pending";
  return "active";
}

nlohmann::json operator_json(const authz::Operator& op) {
  return {{"name", op.name}, {"role", authz::to_string(op.role)}, {"client", op.client}, {"disabled", op.disabled}};
}

nlohmann::json key_json(const authz::OperatorKey& k) {
  return {{"type", k.type}, {"fingerprint", k.fingerprint}, {"comment", k.comment}};
}

nlohmann::json keys_json(const std::vector<authz::OperatorKey>& keys) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& k : keys) all.push_back(key_json(k));
  return all;
}

nlohmann::json server_json(const authz::Server& s) {
  return {{"name", s.name},     {"host", s.host}, {"port", s.port}, {"client", s.client},
          {"kind", authz::to_string(s.kind)}, {"host_key", s.host_key}, {"allowed_env", s.allowed_env}};
}

nlohmann::json entry_json(std::string_view server, const authz::CatalogueEntry& e) {
  return {{"server", server},   {"name", e.name},
          {"type", authz::to_string(e.type)}, {"pattern", e.pattern},
          {"direction", authz::to_string(e.direction)}, {"path", e.path}};
}

nlohmann::json grant_json(const authz::Grant& g, Seconds now) {
  return {{"id", g.id},
          {"operator", g.operator_name},
          {"server", g.server_name},
          {"login", g.login},
          {"ops", g.ops},
          {"not_before", iso8601(g.not_before)},
          {"not_after", iso8601(g.not_after)},
          {"revoked", g.revoked_at.has_value()},
          {"revoked_at", g.revoked_at ? nlohmann::json(iso8601(*g.revoked_at)) : nlohmann::json(nullptr)},
          {"state", grant_state(g, now)},
          {"reason", g.reason},
          {"granted_by", g.granted_by},
          {"created_at", iso8601(g.created_at)}};
}

nlohmann::json grants_json(const std::vector<authz::Grant>& grants, Seconds now) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& g : grants) all.push_back(grant_json(g, now));
  return all;
}

std::string joined_ops(const std::vector<std::string>& ops) {
  std::string out;
  for (const auto& op : ops) out += (out.empty() ? "" : ",") + op;
  return out;
}

}  // namespace bastion::gateway::admin
