// Timers in virtual time: alarm, setitimer, POSIX timers (timer_create) and timerfd.
// They expire when the scheduler's clock reaches them (Scheduler::call_at), so a
// program's alarm(5) costs no wall time and fires at the same point of every run.
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "eventfd.hpp"
#include "net.hpp"
#include "netsim/kernel.hpp"
#include "socket.hpp"
#include "virtual_timer.hpp"

namespace netsim {
namespace {

bool valid(const Kernel::TimerValue& v) { return v.value >= 0 && v.interval >= 0; }

bool timer_clock(int clockid) {
  return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
         clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM;
}

// A process's CPU time is its virtual time (what its CPU-time clocks read): timers
// on it run as the others do, from the start of the simulation.
bool cpu_clock(int clockid) { return clockid == CLOCK_PROCESS_CPUTIME_ID || clockid == CLOCK_THREAD_CPUTIME_ID; }

// The first expiry, as elapsed virtual time, of a setting on `clockid`'s clock. An
// absolute time is one of `host`'s clocks (its offset, drift and jumps), as
// clock_gettime reads them there; the time until it passes as the simulation's, as
// clock_nanosleep's TIMER_ABSTIME does.
Nanos deadline_of(Kernel& kernel, const Host& host, int clockid, bool absolute, Nanos value) {
  const Nanos elapsed = kernel.clock().elapsed();
  if (!absolute) return elapsed + value;
  if (cpu_clock(clockid)) return value;
  const bool wall = clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
  return elapsed + value - (wall ? kernel.wall_clock(host) : kernel.monotonic_clock(host));
}

// A new setting of a timerfd or POSIX timer: disarmed by a zero value, else armed.
void set_timer(Kernel& kernel, const Task& self, VirtualTimer& timer, int clockid, bool absolute, Kernel::TimerValue next) {
  if (next.value == 0)
    timer.disarm();
  else
    timer.arm(deadline_of(kernel, self.process().host(), clockid, absolute, next.value), next.interval);
}

int itimer_signal(int which) {
  switch (which) {
    case ITIMER_REAL: return SIGALRM;
    case ITIMER_VIRTUAL: return SIGVTALRM;
    case ITIMER_PROF: return SIGPROF;
    default: return 0;
  }
}

}  // namespace

struct Kernel::PosixTimer {
  int clockid = 0;
  std::uint64_t overrun = 0;
  std::shared_ptr<VirtualTimer> timer;
};

long Kernel::setitimer(Task& self, int which, TimerValue next, TimerValue* old) {
  begin_call(self);
  const int signo = itimer_signal(which);
  if (!signo || !valid(next)) return result(self, -1, -EINVAL, "setitimer");
  if (!signal_hook_) return result(self, -1, -ENOSYS, "setitimer");
  const int pid = self.process().pid();
  std::shared_ptr<VirtualTimer>& timer = itimers_[{pid, which}];
  if (!timer) {
    timer = std::make_shared<VirtualTimer>(scheduler_, clock_, [this, pid, signo](std::uint64_t) {
      // Pending signals do not queue: one signal however many expiries.
      Process* process = find_process(pid);
      if (process && !process->exited()) signal_hook_(*process, signo);
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

long Kernel::getitimer(Task& self, int which, TimerValue* current) {
  begin_call(self);
  if (!itimer_signal(which)) return result(self, -1, -EINVAL, "getitimer");
  const auto it = itimers_.find({self.process().pid(), which});
  *current = it == itimers_.end() ? TimerValue{} : it->second->value();
  return 0;
}

long Kernel::alarm(Task& self, unsigned seconds) {
  TimerValue old;
  const long r = setitimer(self, ITIMER_REAL, {static_cast<Nanos>(seconds) * kSecond, 0}, &old);
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
  if (!timer_clock(clockid) || (flags & ~(TFD_NONBLOCK | TFD_CLOEXEC)))
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
  set_timer(*this, self, *timerfd->timer, timerfd->clockid, flags & TFD_TIMER_ABSTIME, next);
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

long Kernel::timer_create(Task& self, int clockid, int signo) {
  begin_call(self);
  if (!(timer_clock(clockid) || cpu_clock(clockid)) || signo < 0 || signo >= _NSIG) return result(self, -1, -EINVAL, "timer_create");
  if (signo && !signal_hook_) return result(self, -1, -ENOSYS, "timer_create");
  const int pid = self.process().pid();
  // As Linux numbers them: the next of the process's count, a deleted id not reused.
  const int id = next_timer_id_[pid]++;
  auto posix = std::make_shared<PosixTimer>();
  posix->clockid = clockid;
  // The timer belongs to its entry, which outlives none of its expiries.
  posix->timer = std::make_shared<VirtualTimer>(
      scheduler_, clock_, [this, pid, signo, entry = posix.get()](std::uint64_t expirations) {
        entry->overrun = std::min<std::uint64_t>(expirations - 1, INT_MAX);  // DELAYTIMER_MAX
        Process* process = find_process(pid);
        if (signo && process && !process->exited()) signal_hook_(*process, signo);
      });
  posix_timers_[{pid, id}] = std::move(posix);
  return id;
}

std::shared_ptr<Kernel::PosixTimer> Kernel::find_timer(const Task& self, int id) const {
  const auto it = posix_timers_.find({self.process().pid(), id});
  return it == posix_timers_.end() ? nullptr : it->second;
}

long Kernel::timer_settime(Task& self, int id, int flags, TimerValue next, TimerValue* old) {
  begin_call(self);
  const std::shared_ptr<PosixTimer> posix = find_timer(self, id);
  if (!posix || !valid(next) || (flags & ~TIMER_ABSTIME)) return result(self, -1, -EINVAL, "timer_settime");
  if (old) *old = posix->timer->value();
  posix->overrun = 0;
  set_timer(*this, self, *posix->timer, posix->clockid, flags & TIMER_ABSTIME, next);
  return 0;
}

long Kernel::timer_gettime(Task& self, int id, TimerValue* current) {
  begin_call(self);
  const std::shared_ptr<PosixTimer> posix = find_timer(self, id);
  if (!posix) return result(self, -1, -EINVAL, "timer_gettime");
  *current = posix->timer->value();
  return 0;
}

long Kernel::timer_getoverrun(Task& self, int id) {
  begin_call(self);
  const std::shared_ptr<PosixTimer> posix = find_timer(self, id);
  if (!posix) return result(self, -1, -EINVAL, "timer_getoverrun");
  return static_cast<long>(posix->overrun);
}

void Kernel::disarm_timers(int pid) {
  // Disarmed, not destroyed: the exit may come from one of these timers' own signal.
  for (auto& [key, timer] : itimers_)
    if (key.first == pid) timer->disarm();
  for (auto& [key, posix] : posix_timers_)
    if (key.first == pid) posix->timer->disarm();
}

void Kernel::exec_timers(const Process& process) {
  std::erase_if(posix_timers_, [pid = process.pid()](const auto& entry) { return entry.first.first == pid; });
}

long Kernel::timer_delete(Task& self, int id) {
  begin_call(self);
  if (!posix_timers_.erase({self.process().pid(), id})) return result(self, -1, -EINVAL, "timer_delete");
  return 0;
}

}  // namespace netsim
