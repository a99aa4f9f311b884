#include "virtual_timer.hpp"

namespace netsim {

void VirtualTimer::arm(Nanos deadline, Nanos interval) {
  disarm();
  deadline_ = deadline;
  interval_ = interval;
  pending_ = scheduler_.call_at(deadline_, [this] { expire(); });
}

void VirtualTimer::disarm() {
  if (pending_) scheduler_.cancel_call(*pending_);
  pending_.reset();
}

Kernel::TimerValue VirtualTimer::value() const {
  if (!pending_) return {};
  return {deadline_ - clock_.elapsed(), interval_};
}

void VirtualTimer::expire() {
  pending_.reset();
  // The clock may have passed several periods at once (a call's cost moved it): each
  // one counts, as Linux counts overruns.
  std::uint64_t expirations = 1;
  if (interval_ > 0) {
    const Nanos late = clock_.elapsed() - deadline_;
    expirations += static_cast<std::uint64_t>(late / interval_);
    deadline_ += static_cast<Nanos>(expirations) * interval_;
    pending_ = scheduler_.call_at(deadline_, [this] { expire(); });
  }
  fire_(expirations);
}

}  // namespace netsim
