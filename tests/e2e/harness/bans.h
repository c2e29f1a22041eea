#pragma once
// bans: what the ban and lock tests share — a TOTP code that is surely wrong, and the bans as
// `bastionctl bans list --json` shows them.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/harness/bastion.h"

namespace bastion::e2e {

// wrong_code_for: a 6-digit code valid for none of the steps the bastion accepts at `at_unix`
// (± 2 steps, a margin over the ± 1 it accepts).
std::string wrong_code_for(const OperatorIdentity& op, long long at_unix);
// bans_of: `bans list [--all] --json`, newest first.
std::vector<nlohmann::json> bans_of(const Bastion& b, bool all = false);
// ban_length_seconds: a listed ban's until - created_at.
long long ban_length_seconds(const nlohmann::json& ban);

}  // namespace bastion::e2e
