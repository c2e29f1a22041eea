#include "audit/replay.h"

#include <algorithm>
#include <thread>

namespace bastion::audit {

std::chrono::microseconds replay_asciicast(const Asciicast& cast, std::ostream& out, const ReplayOptions& options,
                                           const Sleeper& sleep) {
  std::chrono::microseconds total{0};
  double previous = 0, pending = 0;
  for (const auto& e : cast.events) {
    pending += std::min(std::max(e.time - previous, 0.0), options.max_idle);
    previous = e.time;
    if (e.code != "o") continue;
    const std::chrono::microseconds wait{static_cast<long long>(pending / options.speed * 1e6)};
    pending = 0;
    if (wait.count() > 0) {
      sleep(wait);
      total += wait;
    }
    out << e.data << std::flush;
  }
  return total;
}

Sleeper real_sleeper() {
  return [](std::chrono::microseconds d) { std::this_thread::sleep_for(d); };
}

}  // namespace bastion::audit
