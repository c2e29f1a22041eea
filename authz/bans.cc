#include "authz/bans.h"

#include <algorithm>

#include "authz/ban_subject.h"
#include "authz/decide.h"

namespace bastion::authz {

std::string_view to_string(BanKind k) { return k == BanKind::Source ? "source" : "account"; }

Seconds counting_since(const BanPolicy& p, BanKind kind, const std::optional<Ban>& latest, Seconds now) {
  Seconds since = now - (kind == BanKind::Source ? p.source_window : p.account_window);
  if (latest) since = std::max(since, latest->ended_at());
  return since;
}

namespace {

// source_level: one more than the previous ban if it ended within `memory` and was not lifted.
int source_level(const BanPolicy& p, const std::optional<Ban>& latest, Seconds now) {
  if (!latest || latest->lifted_at || now - latest->ended_at() >= p.memory) return 1;
  return latest->level + 1;
}

std::chrono::seconds source_duration(const BanPolicy& p, int level) {
  auto d = p.source_first_ban;
  for (int i = 1; i < level && d < p.source_max_ban; ++i) d *= 2;
  return std::min(d, p.source_max_ban);
}

std::string plural(int n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string minutes_text(std::chrono::seconds d) {
  auto m = std::chrono::duration_cast<std::chrono::minutes>(d).count();
  return m % 60 == 0 ? plural(static_cast<int>(m / 60), "hour") : plural(static_cast<int>(m), "minute");
}

}  // namespace

std::optional<NewBan> next_ban(const BanPolicy& p, BanKind kind, std::string_view subject, int failures,
                               const std::optional<Ban>& latest, Seconds now) {
  if (latest && latest->active(now)) return std::nullopt;
  const bool source = kind == BanKind::Source;
  if (failures < (source ? p.source_failures : p.account_failures)) return std::nullopt;
  NewBan b{kind, std::string(subject), now, 1, "", now};
  std::chrono::seconds length = p.account_lock;
  if (source) {
    b.level = source_level(p, latest, now);
    length = source_duration(p, b.level);
  }
  b.until = now + length;
  b.reason = plural(failures, "failed authentication") + " within " +
             minutes_text(source ? p.source_window : p.account_window);
  return b;
}

std::string refusal_text(const Ban& b) {
  const std::string who = b.kind == BanKind::Account   ? "account " + b.subject
                          : is_network_subject(b.subject) ? "network " + b.subject
                                                          : "address " + b.subject;
  return who + " is " + (b.kind == BanKind::Source ? "banned" : "locked") + " until " + format_utc(b.until) +
         " after " + b.reason + "; a security officer can lift it with `bans lift " + b.subject + "`";
}

}  // namespace bastion::authz
