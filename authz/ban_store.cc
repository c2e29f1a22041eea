// note_failure: the one place where a failure becomes a ban, over any BanStore.
#include "authz/ban_store.h"

#include "authz/ban_subject.h"

namespace bastion::authz {
namespace {

constexpr std::chrono::hours kFailureMemory{24};

std::optional<Ban> ban_if_due(BanStore& store, const BanPolicy& policy, BanKind kind, std::string_view subject,
                              Seconds now) {
  auto latest = store.latest_ban(kind, subject);
  int failures = store.count_failures(kind, subject, counting_since(policy, kind, latest, now));
  auto ban = next_ban(policy, kind, subject, failures, latest, now);
  if (!ban) return std::nullopt;
  return store.add_ban(*ban);
}

}  // namespace

std::vector<Ban> note_failure(BanStore& store, const BanPolicy& policy, std::string_view source,
                              std::string_view account, Seconds now) {
  const std::string subject = source_subject(source);
  store.prune_failures(now - kFailureMemory);
  store.record_failure(subject, account, now);
  std::vector<Ban> placed;
  if (!subject.empty()) {
    if (auto b = ban_if_due(store, policy, BanKind::Source, subject, now)) placed.push_back(*b);
  }
  if (!account.empty()) {
    if (auto b = ban_if_due(store, policy, BanKind::Account, account, now)) placed.push_back(*b);
  }
  return placed;
}

}  // namespace bastion::authz
