#pragma once
// Replay of a pty recording on a terminal, as `asciinema play` does: the output events written
// with their original timing divided by a speed factor, idle gaps capped so a long pause does
// not stall the review.
#include <chrono>
#include <functional>
#include <ostream>

#include "audit/asciicast.h"

namespace bastion::audit {

struct ReplayOptions {
  double speed = 1.0;     // > 0; 2 plays twice as fast
  double max_idle = 2.0;  // seconds of recording time; longer gaps are shortened to this
};

using Sleeper = std::function<void(std::chrono::microseconds)>;

// replay_asciicast writes each "o" event's data to out (flushed), sleeping before it for the gap
// since the previous event (capped at max_idle, then divided by speed). Input and resize events
// only advance time. Returns the total time slept.
std::chrono::microseconds replay_asciicast(const Asciicast& cast, std::ostream& out, const ReplayOptions& options,
                                           const Sleeper& sleep);

// real_sleeper sleeps for real.
Sleeper real_sleeper();

}  // namespace bastion::audit
