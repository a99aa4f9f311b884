// Timers in virtual time: alarm, setitimer(ITIMER_REAL) and timerfd. They expire when
// the scheduler's clock reaches them (Scheduler::call_at), so a program's
// alarm(5) costs no wall time and fires at the same point of every run.
#include <signal.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cerrno>

#include "eventfd.hpp"
#include "net.hpp"
#include "netsim/kernel.hpp"
#include "socket.hpp"
#include "virtual_timer.hpp"

namespace netsim {
namespace {

bool valid(const Kernel::TimerValue& v) { return v.value >= 0 && v.interval >= 0; }

bool timerfd_clock(int clockid) {
  return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
         clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM;
}

}  // namespace

long Kernel::setitimer(Task& self, TimerValue next, TimerValue* old) {
  begin_call(self);
  if (!signal_hook_) return result(self, -1, -ENOSYS, "setitimer");
  if (!valid(next)) return result(self, -1, -EINVAL, "setitimer");
  const int pid = self.process().pid();
  std::shared_ptr<VirtualTimer>& timer = real_timers_[pid];
  if (!timer) {
    timer = std::make_shared<VirtualTimer>(scheduler_, clock_, [this, pid](std::uint64_t) {
      // Pending signals do not queue: one SIGALRM however many expiries.
      Process* process = find_process(pid);
      if (process && !process->exited()) signal_hook_(*process, SIGALRM);
    });
  }
  if (old) *old = timer->value();
  if (next.value == 0) {
    timer->disarm();
  } else {
    timer->arm(clock_.elapsed() + next.value, next.interval);
  }
  return 0;
}

long Kernel::getitimer(Task& self, TimerValue* current) {
  begin_call(self);
  const auto it = real_timers_.find(self.process().pid());
  *current = it == real_timers_.end() ? TimerValue{} : it->second->value();
  return 0;
}

long Kernel::alarm(Task& self, unsigned seconds) {
  TimerValue old;
  const long r = setitimer(self, {static_cast<Nanos>(seconds) * kSecond, 0}, &old);
  if (r < 0) return r;
  // Linux's alarm(): whole seconds left of the previous alarm, rounded to the
  // nearest, and never 0 for an alarm still pending.
  const Nanos micros = (old.value + kMicrosecond - 1) / kMicrosecond;
  long left = static_cast<long>(micros / 1'000'000);
  const long usec = static_cast<long>(micros % 1'000'000);
  if ((left == 0 && usec != 0) || usec >= 500'000) ++left;
  return left;
}

long Kernel::timerfd_create(Task& self, int clockid, int flags, int at) {
  begin_call(self);
  if (!timerfd_clock(clockid) || (flags & ~(TFD_NONBLOCK | TFD_CLOEXEC)))
    return result(self, -1, -EINVAL, "timerfd_create");
  auto timerfd = std::make_shared<Socket>();
  timerfd->id = net_->next_socket_id();
  timerfd->host = &self.process().host();
  timerfd->eventfd = true;
  timerfd->timerfd = true;
  timerfd->stream = false;
  timerfd->clockid = clockid;
  timerfd->nonblocking = (flags & TFD_NONBLOCK) != 0;
  // The timer belongs to the descriptor, which outlives none of its expiries.
  timerfd->timer = std::make_shared<VirtualTimer>(
      scheduler_, clock_, [socket = timerfd.get()](std::uint64_t expirations) {
        socket->counter += expirations;
        socket->waiters.notify_all();
      });
  return result(self, -1, install(self.process(), std::move(timerfd), at), "timerfd_create");
}

long Kernel::timerfd_settime(Task& self, int fd, int flags, TimerValue next, TimerValue* old) {
  begin_call(self);
  const std::shared_ptr<Socket> timerfd = lookup(self, fd);
  if (!timerfd) return result(self, fd, -EBADF, "timerfd_settime");
  if (!timerfd->timerfd || !valid(next) || (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)))
    return result(self, fd, -EINVAL, "timerfd_settime");
  if (old) *old = timerfd->timer->value();
  timerfd->counter = 0;  // as Linux: a new setting forgets the expirations not read
  if (next.value == 0) {
    timerfd->timer->disarm();
    return 0;
  }
  Nanos deadline = clock_.elapsed() + next.value;
  if (flags & TFD_TIMER_ABSTIME) {
    const bool wall = timerfd->clockid == CLOCK_REALTIME || timerfd->clockid == CLOCK_REALTIME_ALARM;
    deadline = next.value - (wall ? clock_.epoch() : kUptimeAtStart);
  }
  timerfd->timer->arm(deadline, next.interval);
  return 0;
}

long Kernel::timerfd_gettime(Task& self, int fd, TimerValue* current) {
  begin_call(self);
  const std::shared_ptr<Socket> timerfd = lookup(self, fd);
  if (!timerfd) return result(self, fd, -EBADF, "timerfd_gettime");
  if (!timerfd->timerfd) return result(self, fd, -EINVAL, "timerfd_gettime");
  *current = timerfd->timer->value();
  return 0;
}

}  // namespace netsim
