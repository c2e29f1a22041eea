#pragma once
// PurgeAnchors: the runs of event ids that retention.purge events say they deleted, with the hash
// of the last event of each run (audit/verify.h explains the anchors). Read by the chain walk of
// `audit verify` and by the checkpoint check, which must tell a purged event from a deleted one.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authz/db.h"

namespace bastion::audit {

class PurgeAnchors {
 public:
  void add(std::int64_t from, std::int64_t to, std::string last_hash) {
    runs_.push_back({from, to});
    last_hash_[to] = std::move(last_hash);
  }
  void seal() {
    std::sort(runs_.begin(), runs_.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& r : runs_) {
      if (!merged.empty() && r.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    runs_ = std::move(merged);
  }
  // covers: whether every id in [from, to] was purged.
  bool covers(std::int64_t from, std::int64_t to) const {
    return std::any_of(runs_.begin(), runs_.end(), [&](const auto& r) { return r.first <= from && to <= r.second; });
  }
  // hash_of returns the recorded hash of purged event `id`, if a run ended there.
  std::optional<std::string> hash_of(std::int64_t id) const {
    const auto it = last_hash_.find(id);
    if (it == last_hash_.end()) return std::nullopt;
    return it->second;
  }
  std::int64_t count() const {
    std::int64_t n = 0;
    for (const auto& r : runs_) n += r.second - r.first + 1;
    return n;
  }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> runs_;
  std::map<std::int64_t, std::string> last_hash_;
};

// load_anchors reads every retention.purge event's runs (sealed). Runs that do not end before the
// purge event itself, or are malformed, are ignored: they cannot excuse anything. Throws db::DbError.
PurgeAnchors load_anchors(db::Database& db);

}  // namespace bastion::audit
