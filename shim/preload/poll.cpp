// Readiness: poll, ppoll, select and pselect6, answered by one forwarded Kernel::poll
// (timeouts in virtual time), and the epoll calls, forwarded to the kernel's epoll
// (core/src/epoll.cpp). The simulator's side is shim/runner/net_calls.cpp:
//   SYS_poll  args: nfds, timeout in ns (< 0: none); buffer: nfds struct pollfd, the
//             simulated descriptors only  -> the count; buffer: the ready ones.
// A list longer than kPollPart goes in parts (kCallPollPart, channel.hpp).
//
// Descriptors that are not simulated (real files, /dev/null as stdin) are polled
// natively, with a zero timeout, before the simulated ones. If one is ready the
// answer comes at once (with a zero-timeout look at the simulated ones); otherwise
// the call waits on the simulated ones only and looks at the real ones again when it
// wakes. The limit: a real descriptor that becomes ready while the call waits does
// not end the wait (nothing outside the simulation can wake it).
//
// An epoll instance is a simulated descriptor (marked as a socket), so close, dup,
// fork, exec and poll treat it as the kernel does. Its interest list can hold
// simulated descriptors only: a real one other than a file (which Linux refuses with
// EPERM) is reported as unsupported. At most kSlotBuffer / 12 events come back from
// one wait (the others at the next, as with a smaller maxevents).
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fcntl.h>

#include "shim.hpp"

namespace netsim::shim {

namespace {

static_assert(kPollPart * sizeof(pollfd) <= kSlotBuffer / 2);

pollfd* sent_list(Slot& s) { return reinterpret_cast<pollfd*>(s.buffer); }

// Room for a call's own copy of a descriptor list, while the slot's lower half
// carries the simulated part: the upper half, or for a longer list pages of its own
// for the length of the call.
class Scratch {
 public:
  Scratch(Slot& s, std::size_t bytes) {
    if (bytes <= kSlotBuffer / 2) {
      at_ = s.buffer + kSlotBuffer / 2;
      return;
    }
    const long mapping = raw(SYS_mmap, 0, static_cast<long>(bytes), PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping < 0 && mapping > -4096) return;
    at_ = reinterpret_cast<unsigned char*>(mapping);
    mapped_ = bytes;
  }
  ~Scratch() {
    if (mapped_) raw(SYS_munmap, reinterpret_cast<long>(at_), static_cast<long>(mapped_));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  // Null when no memory was to be had.
  unsigned char* at() const { return at_; }

 private:
  unsigned char* at_ = nullptr;
  std::size_t mapped_ = 0;
};

constexpr short kAlways = POLLERR | POLLHUP | POLLNVAL;

// The simulated kernel answers POLLIN/POLLOUT; the *NORM spellings are the same
// readiness, as Linux's tcp_poll() sets both.
short kernel_events(short events) {
  short k = events & (POLLIN | POLLPRI | POLLOUT | POLLRDHUP);
  if (events & (POLLRDNORM | POLLRDBAND)) k |= POLLIN;
  if (events & (POLLWRNORM | POLLWRBAND)) k |= POLLOUT;
  return k;
}

short user_revents(short revents, short events) {
  short r = revents;
  if (r & POLLIN) r |= POLLRDNORM;
  if (r & POLLOUT) r |= POLLWRNORM;
  return static_cast<short>(r & (events | kAlways));
}

long long now_ns() { return now_monotonic_ns(); }

// The caller's signal mask for the wait (ppoll, pselect6, epoll_pwait): set natively
// around the round trip, so that a signal the reply carries is taken while it holds.
// SIGSYS stays unblocked, as the shim's sigprocmask keeps it: a handler that runs
// meanwhile must still reach the simulation.
struct MaskScope {
  bool active = false;
  unsigned long old = 0;
  long apply(const sigset_t* mask, long size) {
    if (mask == nullptr) return 0;
    if (size != sizeof(unsigned long)) return -EINVAL;
    unsigned long set;
    std::memcpy(&set, mask, sizeof set);
    set &= ~(1UL << (SIGSYS - 1));
    const long r = raw(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&set),
                       reinterpret_cast<long>(&old), size);
    if (r == 0) active = true;
    return r;
  }
  ~MaskScope() {
    if (active) raw(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&old), 0, sizeof(unsigned long));
  }
};

// Negative descriptors are ignored by poll(2); the list's own become kIgnored, so
// that any other negative one is a simulated descriptor poll_native() hid.
constexpr int kIgnored = INT_MIN;

// Polls the real descriptors of the list natively, without waiting: the simulated
// ones are hidden by negating them.
long poll_native(pollfd* fds, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (fds[i].fd >= 0 && is_simulated(fds[i].fd)) fds[i].fd = ~fds[i].fd;
  const long r = raw(SYS_poll, reinterpret_cast<long>(fds), static_cast<long>(n), 0);
  for (std::size_t i = 0; i < n; ++i)
    if (fds[i].fd < 0 && fds[i].fd != kIgnored) fds[i].fd = ~fds[i].fd;
  return r;
}

// Waits on the list (in the slot's upper half) as poll(2) would; timeout in ns, < 0
// for none. Returns the number of entries with revents, or -errno.
long wait_list(Slot& s, pollfd* fds, std::size_t n, long long timeout, const sigset_t* mask,
               long mask_size) {
  std::size_t simulated = 0;
  std::size_t real = 0;
  for (std::size_t i = 0; i < n; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) {
      fds[i].fd = kIgnored;
      continue;
    }
    switch (fd_kind(fds[i].fd)) {
      case FdKind::socket: ++simulated; break;
      // A random device is always readable, as is the placeholder holding its number.
      case FdKind::random:
      case FdKind::none: ++real; break;
    }
  }
  long ready_real = 0;
  if (real) {
    ready_real = poll_native(fds, n);
    if (ready_real < 0) return ready_real;
    if (ready_real > 0 && simulated == 0) return ready_real;
  }
  // The simulated entries, in parts of kPollPart: every full one but the last ahead.
  pollfd* sent = sent_list(s);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (fds[i].fd < 0 || !is_simulated(fds[i].fd)) continue;
    if (k == kPollPart) {
      set_call(s, kCallPollPart, static_cast<long>(k));
      s.size = k * sizeof(pollfd);
      if (const long r = forward(s); r < 0) return r;
      k = 0;
    }
    sent[k++] = pollfd{fds[i].fd, kernel_events(fds[i].events), 0};
  }
  set_call(s, SYS_poll, static_cast<long>(k), ready_real > 0 ? 0 : timeout);
  s.size = k * sizeof(pollfd);
  long r;
  {
    MaskScope scope;
    if (const long err = scope.apply(mask, mask_size)) return err;
    r = forward(s);
  }
  if (r < 0) return r;
  // A second native look after a wait (it clears the hidden entries' revents, so it
  // comes before the simulated answers are merged).
  if (real && ready_real == 0 && timeout != 0) {
    if (const long again = poll_native(fds, n); again < 0) return again;
  }
  // The reply lists the ready ones by their place among the simulated entries.
  const pollfd* ready = sent;
  const pollfd* const ready_end = sent + s.size / sizeof(pollfd);
  long place = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (fds[i].fd < 0 || !is_simulated(fds[i].fd)) continue;
    if (ready != ready_end && ready->fd == place) fds[i].revents = user_revents((ready++)->revents, fds[i].events);
    ++place;
  }
  long count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (fds[i].revents) ++count;
  return count;
}

// ---------------------------------------------------------------- timeouts

long long ms_timeout(long ms) {
  const int t = static_cast<int>(ms);
  return t < 0 ? -1 : static_cast<long long>(t) * 1'000'000;
}

long timespec_timeout(const timespec* ts, long long& out) {
  if (ts == nullptr) {
    out = -1;
    return 0;
  }
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000) return -EINVAL;
  if (ts->tv_sec > LLONG_MAX / 1'000'000'000 - 1) {
    out = -1;  // further than virtual time will ever go
    return 0;
  }
  out = static_cast<long long>(ts->tv_sec) * 1'000'000'000 + ts->tv_nsec;
  return 0;
}

long long remaining(long long timeout, long long start) {
  if (timeout < 0) return -1;
  const long long left = timeout - (now_ns() - start);
  return left > 0 ? left : 0;
}

// ---------------------------------------------------------------- poll, select

long do_poll(pollfd* user, unsigned long n, long long timeout, const sigset_t* mask,
             long mask_size) {
  if (n > kMaxPollList) return -EINVAL;  // Linux: more than RLIMIT_NOFILE
  if (n > 0 && user == nullptr) return -EFAULT;
  Slot& s = *my_slot();
  const Scratch scratch(s, n * sizeof(pollfd));
  if (!scratch.at()) return -ENOMEM;
  auto* fds = reinterpret_cast<pollfd*>(scratch.at());
  std::memcpy(fds, user, n * sizeof(pollfd));
  const long r = wait_list(s, fds, n, timeout, mask, mask_size);
  if (r < 0) return r;
  for (unsigned long i = 0; i < n; ++i) user[i].revents = fds[i].revents;
  return r;
}

bool fd_isset(const fd_set* set, int fd) {
  return set && (set->fds_bits[fd / NFDBITS] & (1UL << (fd % NFDBITS)));
}

// select (a timeval, given back with the time left, as Linux's select() writes it and
// glibc passes it on) and pselect6 (a timespec, left alone: glibc's pselect() and
// ppoll() promise not to touch it, and the wrappers pass the caller's own).
long do_select(long nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* tv, const timespec* ts,
               const sigset_t* mask, long mask_size) {
  if (nfds < 0) return -EINVAL;
  long long timeout = -1;
  if (tv) {
    if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1'000'000) return -EINVAL;
    timeout = static_cast<long long>(tv->tv_sec) * 1'000'000'000 + tv->tv_usec * 1'000LL;
  } else if (ts) {
    if (const long err = timespec_timeout(ts, timeout)) return err;
  }
  if (nfds > FD_SETSIZE) nfds = FD_SETSIZE;  // glibc's fd_set holds no more
  Slot& s = *my_slot();
  const Scratch scratch(s, FD_SETSIZE * sizeof(pollfd));
  auto* fds = reinterpret_cast<pollfd*>(scratch.at());
  std::size_t n = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (fd_isset(rd, fd)) events |= POLLIN;
    if (fd_isset(wr, fd)) events |= POLLOUT;
    if (fd_isset(ex, fd)) events |= POLLPRI;
    if (events == 0) continue;
    fds[n++] = pollfd{fd, events, 0};
  }
  const long long start = now_ns();
  const long r = wait_list(s, fds, n, timeout, mask, mask_size);
  if (r < 0) return r;
  for (std::size_t i = 0; i < n; ++i)
    if (fds[i].revents & POLLNVAL) return -EBADF;
  const long words = (nfds + NFDBITS - 1) / NFDBITS;
  for (fd_set* set : {rd, wr, ex})
    if (set) std::memset(set->fds_bits, 0, words * sizeof(set->fds_bits[0]));
  long count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const short got = fds[i].revents;
    const int fd = fds[i].fd;
    // Linux's POLLIN_SET, POLLOUT_SET and POLLEX_SET.
    if ((fds[i].events & POLLIN) && (got & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
      FD_SET(fd, rd);
      ++count;
    }
    if ((fds[i].events & POLLOUT) && (got & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
      FD_SET(fd, wr);
      ++count;
    }
    if ((fds[i].events & POLLPRI) && (got & POLLPRI)) {
      FD_SET(fd, ex);
      ++count;
    }
  }
  if (tv) {
    const long long left = remaining(timeout, start);
    tv->tv_sec = left / 1'000'000'000;
    tv->tv_usec = (left % 1'000'000'000) / 1'000;
  }
  return count;
}

// ---------------------------------------------------------------- epoll

long bad_epoll(long epfd) {
  return raw(SYS_fcntl, epfd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

long do_epoll_create(long flags) {
  if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
  const long fd = reserve_fd(FdKind::socket);
  if (fd < 0) return fd;
  raw(SYS_fcntl, fd, F_SETFD, (flags & EPOLL_CLOEXEC) ? FD_CLOEXEC : 0);
  const long r = forward(SYS_epoll_create1, flags, fd);
  if (r < 0) release_fd(fd);
  return r;
}

long do_epoll_ctl(long epfd, long op, long fd, const epoll_event* event) {
  if (op != EPOLL_CTL_DEL && event == nullptr) return -EFAULT;
  if (!is_simulated(epfd)) return bad_epoll(epfd);
  if (!is_simulated(fd)) {
    struct stat st;
    if (fd < 0 || raw(SYS_fstat, fd, reinterpret_cast<long>(&st)) < 0) return -EBADF;
    // Files and directories are always ready: Linux refuses them.
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return -EPERM;
    return unsupported("epoll_ctl on a descriptor outside the simulation (a terminal, a device)");
  }
  const std::uint32_t events = event ? event->events : 0;
  const std::uint64_t data = event ? event->data.u64 : 0;
  return forward(SYS_epoll_ctl, epfd, op, fd, events, static_cast<long>(data));
}

long do_epoll_wait(long epfd, epoll_event* out, long max, long long timeout, const sigset_t* mask,
                   long mask_size) {
  if (max <= 0 || max > static_cast<long>(INT_MAX / sizeof(epoll_event))) return -EINVAL;
  if (!is_simulated(epfd)) return bad_epoll(epfd);
  if (out == nullptr) return -EFAULT;
  Slot& s = *my_slot();
  // The reply carries what fits in the slot; epoll_wait may always return fewer.
  const long room = static_cast<long>(kSlotBuffer / sizeof(epoll_event));
  set_call(s, SYS_epoll_wait, epfd, max < room ? max : room, timeout);
  long r;
  {
    MaskScope scope;
    if (const long err = scope.apply(mask, mask_size)) return err;
    r = forward(s);
  }
  if (r > 0) std::memcpy(static_cast<void*>(out), s.buffer, static_cast<std::size_t>(r) * sizeof(epoll_event));
  return r;
}

}  // namespace

bool poll_call(long nr, const long* a, long& result) {
  switch (nr) {
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_create:
    case SYS_epoll_create1:
    case SYS_epoll_ctl:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      break;
    default:
      return false;
  }
  switch (nr) {
    case SYS_poll:
      result = do_poll(reinterpret_cast<pollfd*>(a[0]), static_cast<unsigned long>(a[1]),
                       ms_timeout(a[2]), nullptr, 0);
      return true;
    case SYS_ppoll: {
      long long timeout;
      if (const long err = timespec_timeout(reinterpret_cast<const timespec*>(a[2]), timeout)) {
        result = err;
        return true;
      }
      result = do_poll(reinterpret_cast<pollfd*>(a[0]), static_cast<unsigned long>(a[1]), timeout,
                       reinterpret_cast<const sigset_t*>(a[3]), a[4]);
      return true;
    }
    case SYS_select:
      result = do_select(a[0], reinterpret_cast<fd_set*>(a[1]), reinterpret_cast<fd_set*>(a[2]),
                         reinterpret_cast<fd_set*>(a[3]), reinterpret_cast<timeval*>(a[4]), nullptr,
                         nullptr, 0);
      return true;
    case SYS_pselect6: {
      // The sixth argument is {const sigset_t* set; size_t size}.
      const sigset_t* mask = nullptr;
      long mask_size = 0;
      if (a[5] != 0) {
        const long* pair = reinterpret_cast<const long*>(a[5]);
        mask = reinterpret_cast<const sigset_t*>(pair[0]);
        mask_size = pair[1];
      }
      result = do_select(a[0], reinterpret_cast<fd_set*>(a[1]), reinterpret_cast<fd_set*>(a[2]),
                         reinterpret_cast<fd_set*>(a[3]), nullptr, reinterpret_cast<const timespec*>(a[4]),
                         mask, mask_size);
      return true;
    }
    case SYS_epoll_create:
      result = static_cast<int>(a[0]) <= 0 ? -EINVAL : do_epoll_create(0);
      return true;
    case SYS_epoll_create1:
      result = do_epoll_create(a[0]);
      return true;
    case SYS_epoll_ctl:
      result = do_epoll_ctl(a[0], a[1], a[2], reinterpret_cast<const epoll_event*>(a[3]));
      return true;
    case SYS_epoll_wait:
      result = do_epoll_wait(a[0], reinterpret_cast<epoll_event*>(a[1]), static_cast<int>(a[2]),
                             ms_timeout(a[3]), nullptr, 0);
      return true;
    case SYS_epoll_pwait:
      result = do_epoll_wait(a[0], reinterpret_cast<epoll_event*>(a[1]), static_cast<int>(a[2]),
                             ms_timeout(a[3]), reinterpret_cast<const sigset_t*>(a[4]), a[5]);
      return true;
    case SYS_epoll_pwait2: {
      long long timeout;
      if (const long err = timespec_timeout(reinterpret_cast<const timespec*>(a[3]), timeout)) {
        result = err;
        return true;
      }
      result = do_epoll_wait(a[0], reinterpret_cast<epoll_event*>(a[1]), static_cast<int>(a[2]),
                             timeout, reinterpret_cast<const sigset_t*>(a[4]), a[5]);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace netsim::shim
