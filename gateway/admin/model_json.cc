#include "gateway/admin/model_json.h"

namespace bastion::gateway::admin {

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
          {"kind", authz::to_string(s.kind)}, {"host_key", s.host_key}, {"allowed_env", s.allowed_env},
          {"egress", authz::to_string(s.egress)}};
}

nlohmann::json entry_json(std::string_view server, const authz::CatalogueEntry& e) {
  return {{"server", server},   {"name", e.name},
          {"type", authz::to_string(e.type)}, {"pattern", e.pattern},
          {"direction", authz::to_string(e.direction)}, {"path", e.path}};
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
