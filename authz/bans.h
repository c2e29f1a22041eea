#pragma once
// Bans: brute-force protection as a pure decision. Failed authentications are counted per source
// (an IPv4 address, an IPv6 /64: authz/ban_subject.h) and per account over a sliding window; crossing a threshold places a ban. A source's
// bans escalate (each one doubles the last, up to a ceiling) while the previous one ended recently;
// an account lock has a fixed length. Storage is authz/ban_store.h; the gateway applies both.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authz/clock.h"

namespace bastion::authz {

enum class BanKind { Source, Account };
std::string_view to_string(BanKind k);  // "source" | "account"

struct BanPolicy {
  int source_failures = 5;                          // failures from one address within source_window …
  std::chrono::seconds source_window{15 * 60};
  std::chrono::seconds source_first_ban{30 * 60};   // … ban it this long; each further ban doubles
  std::chrono::seconds source_max_ban{24 * 3600};   // up to this
  int account_failures = 10;                        // failures on one account within account_window …
  std::chrono::seconds account_window{3600};
  std::chrono::seconds account_lock{3600};          // … lock it this long
  // A ban escalates from the previous one only if that ended less than `memory` ago and was not
  // lifted by an officer (a lift is a pardon).
  std::chrono::seconds memory{24 * 3600};
};

struct Ban {
  std::int64_t id = 0;
  BanKind kind = BanKind::Source;
  std::string subject;  // a source subject ("203.0.113.7", "2001:db8::/64"; authz/ban_subject.h) or an account
  Seconds until{};
  int level = 1;        // 1 for a first ban, 2 for the next (twice as long), …
  std::string reason;
  Seconds created_at{};
  std::optional<std::string> lifted_by;
  std::optional<Seconds> lifted_at;

  // active: in force at `now` (not expired, not lifted).
  bool active(Seconds now) const { return !lifted_at && now < until; }
  // ended_at: when the ban stopped or will stop holding.
  Seconds ended_at() const { return lifted_at ? *lifted_at : until; }
};

struct NewBan {
  BanKind kind = BanKind::Source;
  std::string subject;
  Seconds until{};
  int level = 1;
  std::string reason;
  Seconds created_at{};
};

// counting_since returns the start of the window in which failures of `kind` count at `now`:
// the window's length back from now, but never before the end of the subject's latest ban, so that
// failures made before (or during) a ban never cause the next one.
Seconds counting_since(const BanPolicy& p, BanKind kind, const std::optional<Ban>& latest, Seconds now);

// next_ban decides whether `failures` (counted since counting_since) call for a ban of `subject`
// at `now`, given the subject's latest ban (any state). Returns nothing if the threshold is not
// reached or a ban is already in force.
std::optional<NewBan> next_ban(const BanPolicy& p, BanKind kind, std::string_view subject, int failures,
                               const std::optional<Ban>& latest, Seconds now);

// refusal_text: what a person is told about an active ban — which subject, until when, and how an
// officer lifts it.
std::string refusal_text(const Ban& b);

}  // namespace bastion::authz
