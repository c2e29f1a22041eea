#pragma once
// Clock is injected everywhere a decision depends on time, so tests never depend on wall-clock luck.
#include <chrono>

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

inline Seconds from_unix(long long s) { return Seconds{std::chrono::seconds{s}}; }
inline long long to_unix(Seconds t) { return t.time_since_epoch().count(); }

}  // namespace bastion
