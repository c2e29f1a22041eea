#pragma once
// Clock is injected everywhere a decision depends on time, so tests never depend on wall-clock luck.
#include <chrono>
#include <optional>

namespace bastion {

using Seconds = std::chrono::sys_seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Seconds now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Seconds now() const override {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
};

// FixedClock returns whatever it was last set to; for tests.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(Seconds t) : t_(t) {}
  Seconds now() const override { return t_; }
  void set(Seconds t) { t_ = t; }
  void advance(std::chrono::seconds d) { t_ += d; }

 private:
  Seconds t_;
};

// process_clock is the clock bastiond and bastionctl run on: the system clock, except in the test
// builds of those programs (bastiond_test_hooks, bastionctl_test_hooks; never installed) when the environment
// variable BASTION_TEST_CLOCK_FILE names a file holding a whole number of seconds: that shift is
// added to the system time, read again at each call, so an end-to-end test can move a running
// daemon hours ahead (ban expiry, grant end) without waiting. A shift file that cannot be read
// or parsed counts as no shift.
const Clock& process_clock();
// test_clock_shift: the shift in force, if the test clock is active (for the start-up warning).
std::optional<std::chrono::seconds> test_clock_shift();

inline Seconds from_unix(long long s) { return Seconds{std::chrono::seconds{s}}; }
inline long long to_unix(Seconds t) { return t.time_since_epoch().count(); }

}  // namespace bastion
