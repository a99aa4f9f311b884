// alarm, setitimer/getitimer, POSIX timers (timer_create) and timerfd: timers in
// virtual time, kept by the simulator (core/src/timers.cpp), whose signals the runner
// delivers at the call the process is blocked in. A timerfd is a simulated descriptor
// marked as a socket, as an eventfd is, so read, poll, epoll and close take the
// socket's routes. Every POSIX timer is the simulator's, so timer_* calls never reach
// Linux: the ids are the simulator's.
//
//   SYS_alarm            seconds                              -> seconds left
//   SYS_setitimer        value ns, interval ns, which         -> 0; args[1], args[2]: the old ones
//   SYS_getitimer        which                                -> 0; args[1], args[2]: value, interval
//   SYS_timer_create     clockid, signal (0: SIGEV_NONE)      -> the timer's id
//   SYS_timer_settime    id, flags, value ns, interval ns     -> 0; args[1], args[2]: the old ones
//   SYS_timer_gettime    id                                   -> 0; args[1], args[2]: value, interval
//   SYS_timer_getoverrun id                                   -> the overrun count
//   SYS_timer_delete     id                                   -> 0
//   SYS_timerfd_create   clockid, flags, at (the placeholder) -> at
//   SYS_timerfd_settime  fd, flags, value ns, interval ns     -> 0; args[1], args[2]: the old ones
//   SYS_timerfd_gettime  fd                                   -> 0; args[1], args[2]: value, interval
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#include <cerrno>
#include <ctime>

#include "shim.hpp"

namespace netsim::shim {
namespace {

constexpr long kNanosPerSecond = 1'000'000'000;

// A timeval or timespec as nanoseconds; -1 for one Linux refuses with EINVAL.
long nanos(long seconds, long fraction, long fraction_per_second) {
  if (seconds < 0 || fraction < 0 || fraction >= fraction_per_second) return -1;
  if (seconds > (__LONG_MAX__ / kNanosPerSecond) - 1) seconds = __LONG_MAX__ / kNanosPerSecond - 1;
  return seconds * kNanosPerSecond + fraction * (kNanosPerSecond / fraction_per_second);
}

void store(long ns, timeval& out) {
  out.tv_sec = ns / kNanosPerSecond;
  out.tv_usec = (ns % kNanosPerSecond) / 1000;
  // An armed timer never reads as 0, which would mean disarmed (Linux does the same).
  if (ns > 0 && out.tv_sec == 0 && out.tv_usec == 0) out.tv_usec = 1;
}

void store(long ns, timespec& out) {
  out.tv_sec = ns / kNanosPerSecond;
  out.tv_nsec = ns % kNanosPerSecond;
}

// Sends the call; on success the reply's value and interval go to `out` (an
// itimerval or itimerspec) unless it is null.
template <typename Pair>
long with_reply(long nr, long a0, long a1, long a2, long a3, Pair* out) {
  Slot& slot = *my_slot();
  const long r = forward(nr, a0, a1, a2, a3);
  if (r >= 0 && out) {
    store(slot.args[1], out->it_value);
    store(slot.args[2], out->it_interval);
  }
  return r;
}

long setitimer_call(const long* a) {
  long value = 0, interval = 0;
  if (const auto* next = reinterpret_cast<const itimerval*>(a[1])) {
    value = nanos(next->it_value.tv_sec, next->it_value.tv_usec, 1'000'000);
    interval = nanos(next->it_interval.tv_sec, next->it_interval.tv_usec, 1'000'000);
    if (value < 0 || interval < 0) return -EINVAL;
  }
  return with_reply(SYS_setitimer, value, interval, a[0], 0, reinterpret_cast<itimerval*>(a[2]));
}

long getitimer_call(const long* a) {
  return with_reply(SYS_getitimer, a[0], 0, 0, 0, reinterpret_cast<itimerval*>(a[1]));
}

long timer_create_call(const long* a) {
  // No sigevent: SIGEV_SIGNAL with SIGALRM, as Linux takes it.
  const auto* event = reinterpret_cast<const sigevent*>(a[1]);
  long signo = SIGALRM;
  if (event && event->sigev_notify == SIGEV_NONE) {
    signo = 0;
  } else if (event && event->sigev_notify == SIGEV_SIGNAL) {
    signo = event->sigev_signo;
    if (signo <= 0) return -EINVAL;
  } else if (event && (event->sigev_notify == SIGEV_THREAD || event->sigev_notify == SIGEV_THREAD_ID)) {
    return unsupported("timer_create(SIGEV_THREAD, SIGEV_THREAD_ID): timers that run a function or signal "
                       "one thread are not simulated (SIGEV_SIGNAL and SIGEV_NONE are)");
  } else if (event) {
    return -EINVAL;
  }
  // The CPU clocks of a process or thread as the system call names them (negative):
  // the caller's own, for the simulation's CPU time is its virtual time.
  const long clock = a[0] < 0 ? CLOCK_PROCESS_CPUTIME_ID : a[0];
  const long id = forward(SYS_timer_create, clock, signo);
  if (id >= 0) *reinterpret_cast<int*>(a[2]) = static_cast<int>(id);
  return id < 0 ? id : 0;
}

// timer_settime and timerfd_settime: (id or fd, flags, new itimerspec, old itimerspec).
long settime_call(long nr, const long* a) {
  const auto* next = reinterpret_cast<const itimerspec*>(a[2]);
  const long value = nanos(next->it_value.tv_sec, next->it_value.tv_nsec, kNanosPerSecond);
  const long interval = nanos(next->it_interval.tv_sec, next->it_interval.tv_nsec, kNanosPerSecond);
  if (value < 0 || interval < 0) return -EINVAL;
  return with_reply(nr, a[0], a[1], value, interval, reinterpret_cast<itimerspec*>(a[3]));
}

long timerfd_create_call(const long* a) {
  if (a[1] & ~static_cast<long>(TFD_NONBLOCK | TFD_CLOEXEC)) return -EINVAL;
  const long fd = reserve_fd(FdKind::socket);
  if (fd < 0) return fd;
  raw(SYS_fcntl, fd, F_SETFD, a[1] & TFD_CLOEXEC ? FD_CLOEXEC : 0);
  const long r = forward(SYS_timerfd_create, a[0], a[1], fd);
  if (r < 0) release_fd(fd);
  return r;
}


}  // namespace

bool timer_call(long nr, const long* a, long& r) {
  switch (nr) {
    case SYS_alarm: case SYS_setitimer: case SYS_getitimer: case SYS_timerfd_create:
    case SYS_timer_create: case SYS_timer_settime: case SYS_timer_gettime: case SYS_timer_getoverrun:
    case SYS_timer_delete:
      break;
    case SYS_timerfd_settime: case SYS_timerfd_gettime:
      // Every timerfd is a simulated descriptor; Linux answers for any other (EINVAL, EBADF).
      if (!is_simulated(a[0])) return false;
      break;
    default:
      return false;
  }
  // A thread the simulation does not know has nobody to keep its timer.
  if (!my_slot()) {
    r = -ENOSYS;
    return true;
  }
  switch (nr) {
    case SYS_alarm: r = forward(SYS_alarm, static_cast<unsigned>(a[0])); break;
    case SYS_setitimer: r = setitimer_call(a); break;
    case SYS_getitimer: r = getitimer_call(a); break;
    case SYS_timerfd_create: r = timerfd_create_call(a); break;
    case SYS_timer_create: r = timer_create_call(a); break;
    case SYS_timer_settime: case SYS_timerfd_settime: r = settime_call(nr, a); break;
    case SYS_timer_getoverrun: case SYS_timer_delete: r = forward(nr, a[0]); break;
    // timer_gettime, timerfd_gettime
    default: r = with_reply(nr, a[0], 0, 0, 0, reinterpret_cast<itimerspec*>(a[1])); break;
  }
  return true;
}

}  // namespace netsim::shim
