#pragma once
// MonotonicClock: the time base of a recording's event offsets. Wall time (authz/clock.h) can jump;
// offsets inside a recording must not, so recordings measure elapsed time on a monotonic clock,
// injected so that tests decide exactly what "elapsed" is.
#include <chrono>

namespace bastion::audit {

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  // now returns a monotonic time point with an arbitrary epoch; only differences are meaningful.
  virtual std::chrono::nanoseconds now() const = 0;
};

// SteadyClock reads std::chrono::steady_clock (CLOCK_MONOTONIC on Linux).
class SteadyClock final : public MonotonicClock {
 public:
  std::chrono::nanoseconds now() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
  }
};

// ManualMonotonicClock only moves when told to; for tests.
class ManualMonotonicClock final : public MonotonicClock {
 public:
  std::chrono::nanoseconds now() const override { return t_; }
  void advance(std::chrono::nanoseconds d) { t_ += d; }

 private:
  std::chrono::nanoseconds t_{0};
};

// Stopwatch measures elapsed time on a MonotonicClock from the moment it is constructed. The clock
// must outlive the stopwatch.
class Stopwatch {
 public:
  explicit Stopwatch(const MonotonicClock& clock) : clock_(&clock), start_(clock.now()) {}
  std::chrono::nanoseconds elapsed() const { return clock_->now() - start_; }

 private:
  const MonotonicClock* clock_;
  std::chrono::nanoseconds start_;
};

}  // namespace bastion::audit
