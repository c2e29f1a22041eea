#include "tests/e2e/harness/bans.h"

#include <set>

#include "tests/e2e/harness/live.h"

namespace bastion::e2e {

std::string wrong_code_for(const OperatorIdentity& op, long long at_unix) {
  std::set<std::string> valid;
  for (long long d : {-60, -30, 0, 30, 60}) valid.insert(op.totp_code(at_unix + d));
  std::string wrong = "000000";
  for (int i = 1; valid.count(wrong) != 0; ++i) wrong = std::to_string(100000 + i);
  return wrong;
}

std::vector<nlohmann::json> bans_of(const Bastion& b, bool all) {
  std::vector<std::string> args = {"bans", "list"};
  if (all) args.push_back("--all");
  std::vector<nlohmann::json> out;
  for (auto& row : b.ctl_json(args)) out.push_back(row);
  return out;
}

long long ban_length_seconds(const nlohmann::json& ban) {
  return static_cast<long long>(seconds_between(parse_utc(ban.at("created_at").get<std::string>()),
                                                parse_utc(ban.at("until").get<std::string>())));
}

}  // namespace bastion::e2e
