#pragma once
// A timer that expires in virtual time, once or every interval, and tells its owner
// how many times it expired: what alarm, setitimer and timerfd are made of.
#include <cstdint>
#include <functional>
#include <optional>

#include "netsim/kernel.hpp"
#include "netsim/scheduler.hpp"

namespace netsim {

class VirtualTimer {
 public:
  using Fire = std::function<void(std::uint64_t expirations)>;
  VirtualTimer(Scheduler& scheduler, const Clock& clock, Fire fire)
      : scheduler_(scheduler), clock_(clock), fire_(std::move(fire)) {}
  ~VirtualTimer() { disarm(); }
  VirtualTimer(const VirtualTimer&) = delete;
  VirtualTimer& operator=(const VirtualTimer&) = delete;

  // First expiry at `deadline` (elapsed virtual time), then every `interval` (0: once).
  void arm(Nanos deadline, Nanos interval);
  void disarm();
  // Time left and interval, as getitimer and timerfd_gettime report them; zeros when
  // disarmed.
  Kernel::TimerValue value() const;

 private:
  void expire();

  Scheduler& scheduler_;
  const Clock& clock_;
  Fire fire_;
  std::optional<Scheduler::CallKey> pending_;
  Nanos deadline_ = 0;
  Nanos interval_ = 0;
};

}  // namespace netsim
