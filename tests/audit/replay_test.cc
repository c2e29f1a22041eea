#include "audit/replay.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace bastion::audit {
namespace {

using std::chrono::microseconds;

Asciicast cast_of(std::vector<AsciicastEvent> events) {
  Asciicast c;
  c.events = std::move(events);
  return c;
}

TEST(Replay, WritesOutputWithGapsDividedBySpeedAndIdleCappedAtTwoSeconds) {
  const auto cast = cast_of({{0.5, "o", "$ "}, {1.0, "i", "ls\r"}, {1.5, "o", "file\r\n"}, {31.5, "o", "bye\r\n"}});
  std::ostringstream out;
  std::vector<microseconds> slept;
  const auto total = replay_asciicast(cast, out, {2.0, 2.0}, [&](microseconds d) { slept.push_back(d); });
  EXPECT_EQ(out.str(), "$ file\r\nbye\r\n");
  // 0.5 s, then 0.5 + 0.5 s across the input event, then 30 s capped to 2 s; all halved.
  EXPECT_EQ(slept, (std::vector<microseconds>{microseconds(250000), microseconds(500000), microseconds(1000000)}));
  EXPECT_EQ(total, microseconds(1750000));
}

TEST(Replay, NeverSleepsForEventsAtTheSameTime) {
  const auto cast = cast_of({{0.0, "o", "a"}, {0.0, "o", "b"}, {0.0, "r", "100x40"}});
  std::ostringstream out;
  int sleeps = 0;
  replay_asciicast(cast, out, {}, [&](microseconds) { ++sleeps; });
  EXPECT_EQ(out.str(), "ab");
  EXPECT_EQ(sleeps, 0);
}

}  // namespace
}  // namespace bastion::audit
