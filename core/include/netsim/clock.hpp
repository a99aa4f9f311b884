#pragma once
// Virtual time. It moves only when the scheduler says so: when no task can run it
// jumps to the next timer, so a sleep of five seconds costs no wall time.
#include <cstdint>

namespace netsim {

using Nanos = std::int64_t;
inline constexpr Nanos kMicrosecond = 1'000;
inline constexpr Nanos kMillisecond = 1'000'000;
inline constexpr Nanos kSecond = 1'000'000'000;
// 2024-01-01T00:00:00Z: a fixed, readable start so logged timestamps repeat.
inline constexpr Nanos kDefaultEpoch = 1'704'067'200 * kSecond;

class Clock {
 public:
  explicit Clock(Nanos epoch) : epoch_(epoch) {}
  // Wall-clock reading inside the simulation (what time() and gettimeofday see).
  Nanos now() const { return epoch_ + elapsed_; }
  // Time since the simulation started (what monotonic clocks and the trace see).
  Nanos elapsed() const { return elapsed_; }
  Nanos epoch() const { return epoch_; }
  void advance_to(Nanos elapsed) {
    if (elapsed > elapsed_) elapsed_ = elapsed;
  }

 private:
  Nanos epoch_;
  Nanos elapsed_ = 0;
};

}  // namespace netsim
