#pragma once
// Times and durations as officers type them on the command line. All times are UTC.
#include <chrono>
#include <string>
#include <string_view>

#include "authz/clock.h"
#include "authz/result.h"
#include "authz/text.h"

namespace bastion::gateway::admin {

// parse_time accepts unix seconds ("1795442400"), "2026-11-23T14:00:00Z" and "2026-11-23 14:00"
// (optionally with ":SS"), all UTC. Anything else, or an impossible date, is an error.
Result<Seconds> parse_time(std::string_view text);

// parse_duration accepts a positive number and one unit: "90s", "30m", "4h", "2d".
Result<std::chrono::seconds> parse_duration(std::string_view text);

// iso8601 renders "2026-11-23T14:02:00Z" (authz/text.h).
inline std::string iso8601(Seconds t) { return iso8601_utc(t); }

}  // namespace bastion::gateway::admin
