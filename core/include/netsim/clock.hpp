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
// How long the simulated hosts have been up when a simulation starts: monotonic clocks
// count from boot, and on Linux never read 0 in a program (Go's runtime takes 0 for
// "not yet read").
inline constexpr Nanos kUptimeAtStart = 100 * kSecond;

class Clock {
 public:
  explicit Clock(Nanos epoch) : epoch_(epoch) {}
  // Wall-clock reading inside the simulation (what time() and gettimeofday see).
  Nanos now() const { return epoch_ + elapsed_; }
  // Time since the simulation started (what the trace and CPU-time clocks see).
  Nanos elapsed() const { return elapsed_; }
  // What CLOCK_MONOTONIC (and CLOCK_BOOTTIME) read: time since the host's boot.
  Nanos monotonic() const { return kUptimeAtStart + elapsed_; }
  Nanos epoch() const { return epoch_; }
  void advance_to(Nanos elapsed) {
    if (elapsed > elapsed_) elapsed_ = elapsed;
  }

 private:
  Nanos epoch_;
  Nanos elapsed_ = 0;
};

}  // namespace netsim
