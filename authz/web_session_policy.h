#pragma once
// How long a web portal session lives: 15 minutes without a request, 8 hours in all, whatever
// happens. A pure decision of the session's times and now.
#include <chrono>
#include <optional>
#include <string>

#include "authz/clock.h"

namespace bastion::authz {

inline constexpr std::chrono::seconds kWebIdleLimit{15 * 60};
inline constexpr std::chrono::seconds kWebAbsoluteLimit{8 * 3600};
// kWebEnrolmentLife: how long an enrolment link may be used (once).
inline constexpr std::chrono::seconds kWebEnrolmentLife{24 * 3600};
// kWebLoginLinkLife: how long a sign-in link from `ssh … web-login` may be used (once).
inline constexpr std::chrono::seconds kWebLoginLinkLife{120};

// web_session_ended returns why a session created at `created` and last used at `last_seen` is
// over at `now` ("signed out after 15 minutes without activity", …), or nothing if it goes on.
inline std::optional<std::string> web_session_ended(Seconds created, Seconds last_seen, Seconds now) {
  if (now >= created + kWebAbsoluteLimit) return "signed out: a session lasts at most 8 hours";
  if (now >= last_seen + kWebIdleLimit) return "signed out after 15 minutes without activity";
  return std::nullopt;
}

}  // namespace bastion::authz
