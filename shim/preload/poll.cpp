// Readiness: poll, ppoll, select, pselect6 and epoll, all answered by one forwarded
// Kernel::poll (timeouts in virtual time). The simulator's side is the SYS_poll case
// of shim/runner/net_calls.cpp:
//   SYS_poll  args: nfds, timeout in ns (< 0: none); buffer: nfds struct pollfd, the
//             simulated descriptors only  -> the count; buffer: the ready ones.
// A list longer than kPollPart goes in parts (kCallPollPart, channel.hpp).
//
// Descriptors that are not simulated (real files, a pipe, /dev/null as stdin) are
// polled natively, with a zero timeout, before the simulated ones. If one is ready
// the answer comes at once (with a zero-timeout look at the simulated ones);
// otherwise the call waits on the simulated ones only and looks at the real ones
// again when it wakes. The limit: a real descriptor that becomes ready while the
// call waits does not end the wait (nothing outside the simulation can wake it).
//
// epoll lives here, in the shim: an epoll descriptor is a placeholder (FdKind::epoll)
// and its interest list a table of pages of its own, grown as it fills (mremap). Level-triggered;
// EPOLLONESHOT honoured. EPOLLET on a simulated socket: an event is reported once,
// then again only after the program has done I/O on the socket that may have
// consumed the readiness (a read or accept that returned something or EAGAIN, a
// write that was short or EAGAIN, a connect), so that a program that waits for
// EPOLLOUT|EPOLLET without writing does not spin, and one that stops reading before
// EAGAIN still hears of the rest. Unlike Linux, such a report carries only the bits
// that are new (Linux repeats every ready bit on any wake-up). EPOLLET on a real
// descriptor is level-triggered. Interest lists hold descriptor numbers: closing a
// socket drops it from every list even if a dup of it stays open (Linux watches the
// open file until its last descriptor closes). A real descriptor closed behind
// epoll's back is dropped when a wait finds it closed.
//
// Limits: 64 epoll instances at once, each with as many descriptors as the process
// may open; at most kPollPart ready descriptors reported by one poll (the others at
// the next); an epoll descriptor inside poll/select or another epoll instance is
// reported as unsupported.
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
      case FdKind::epoll: return unsupported("poll/select on an epoll descriptor");
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

constexpr int kMaxEpolls = 64;
// EPOLLET bookkeeping is per descriptor number, for numbers below this one.
constexpr long kTrackedFds = 65536;

constexpr std::uint32_t kPollBits = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND |
                                    EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP;
constexpr std::uint32_t kReadSide = EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND | EPOLLRDHUP |
                                    EPOLLERR | EPOLLHUP;
constexpr std::uint32_t kWriteSide = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | EPOLLERR | EPOLLHUP;

struct Entry {
  int fd;
  std::uint32_t events;
  std::uint64_t data;
  // EPOLLET: the readiness bits reported and not re-armed since, and the socket's
  // I/O generations when they were last looked at.
  std::uint32_t reported;
  std::uint32_t read_gen;
  std::uint32_t write_gen;
  bool disabled;  // EPOLLONESHOT fired; MOD re-arms
};

struct Instance {
  bool used;
  int fd;
  int count;
  int cursor;  // where the next scan starts: Linux's ready list rotates
  int capacity;
  Entry* entries;  // pages of their own, `capacity` entries' worth
};

Instance g_epolls[kMaxEpolls];
std::uint32_t g_read_gen[kTrackedFds];
std::uint32_t g_write_gen[kTrackedFds];

// Room for one more entry; false when there is no memory for it.
bool make_room(Instance& instance) {
  if (instance.count < instance.capacity) return true;
  const std::size_t old_bytes = static_cast<std::size_t>(instance.capacity) * sizeof(Entry);
  const std::size_t bytes = old_bytes ? 2 * old_bytes : kPageSize;
  const long mapping =
      instance.entries
          ? raw(SYS_mremap, reinterpret_cast<long>(instance.entries), static_cast<long>(old_bytes),
                static_cast<long>(bytes), MREMAP_MAYMOVE)
          : raw(SYS_mmap, 0, static_cast<long>(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping < 0 && mapping > -4096) return false;
  instance.entries = reinterpret_cast<Entry*>(mapping);
  instance.capacity = static_cast<int>(bytes / sizeof(Entry));
  return true;
}

Instance* find_instance(long epfd) {
  if (epfd < 0) return nullptr;
  for (Instance& instance : g_epolls)
    if (instance.used && instance.fd == epfd) return &instance;
  return nullptr;
}

long bad_epoll(long epfd) {
  return raw(SYS_fcntl, epfd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

bool edge_tracked(const Entry& e) {
  return (e.events & EPOLLET) && e.fd < kTrackedFds && is_simulated(e.fd);
}

// The bits an EPOLLET entry may report now: those not reported since the socket's
// last I/O on that side.
std::uint32_t armed(Entry& e) {
  if (!edge_tracked(e)) return ~0U;
  if (g_read_gen[e.fd] != e.read_gen) {
    e.read_gen = g_read_gen[e.fd];
    e.reported &= ~kReadSide;
  }
  if (g_write_gen[e.fd] != e.write_gen) {
    e.write_gen = g_write_gen[e.fd];
    e.reported &= ~kWriteSide;
  }
  return ~e.reported;
}

void arm(Entry& e) {
  e.reported = 0;
  e.disabled = false;
  if (e.fd < kTrackedFds) {
    e.read_gen = g_read_gen[e.fd];
    e.write_gen = g_write_gen[e.fd];
  }
}

void remove_entry(Instance& instance, int index) {
  std::memmove(&instance.entries[index], &instance.entries[index + 1],
               (instance.count - index - 1) * sizeof(Entry));
  --instance.count;
  if (index < instance.cursor) --instance.cursor;
  if (instance.cursor >= instance.count) instance.cursor = 0;
}

long do_epoll_create(long flags) {
  if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
  Instance* free_instance = nullptr;
  for (Instance& instance : g_epolls) {
    if (!instance.used) {
      free_instance = &instance;
      break;
    }
  }
  if (free_instance == nullptr) return unsupported("more than 64 epoll instances at once");
  const long fd = reserve_fd(FdKind::epoll);
  if (fd < 0) return fd;
  raw(SYS_fcntl, fd, F_SETFD, (flags & EPOLL_CLOEXEC) ? FD_CLOEXEC : 0);
  free_instance->used = true;
  free_instance->fd = static_cast<int>(fd);
  free_instance->count = 0;
  free_instance->cursor = 0;
  return fd;
}

long do_epoll_ctl(long epfd, long op, long fd, const epoll_event* event) {
  if (op != EPOLL_CTL_DEL && event == nullptr) return -EFAULT;
  Instance* instance = find_instance(epfd);
  if (instance == nullptr) return bad_epoll(epfd);
  const FdKind kind = fd_kind(fd);
  if (kind == FdKind::none) {
    struct stat st;
    if (fd < 0 || raw(SYS_fstat, fd, reinterpret_cast<long>(&st)) < 0) return -EBADF;
    // Files and directories are always ready: Linux refuses them.
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return -EPERM;
  }
  if (fd == epfd) return -EINVAL;
  if (kind == FdKind::epoll) return unsupported("epoll_ctl: nested epoll instances are not simulated");
  int index = -1;
  for (int i = 0; i < instance->count; ++i) {
    if (instance->entries[i].fd == fd) {
      index = i;
      break;
    }
  }
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (index >= 0) return -EEXIST;
      if (!make_room(*instance)) return -ENOMEM;
      Entry& e = instance->entries[instance->count++];
      e.fd = static_cast<int>(fd);
      e.events = event->events;
      e.data = event->data.u64;
      arm(e);
      return 0;
    }
    case EPOLL_CTL_MOD: {
      if (index < 0) return -ENOENT;
      Entry& e = instance->entries[index];
      if ((e.events & EPOLLEXCLUSIVE) || (event->events & EPOLLEXCLUSIVE)) return -EINVAL;
      e.events = event->events;
      e.data = event->data.u64;
      arm(e);
      return 0;
    }
    case EPOLL_CTL_DEL:
      if (index < 0) return -ENOENT;
      remove_entry(*instance, index);
      return 0;
    default:
      return -EINVAL;
  }
}

long do_epoll_wait(long epfd, epoll_event* out, long max, long long timeout, const sigset_t* mask,
                   long mask_size) {
  Instance* instance = find_instance(epfd);
  if (instance == nullptr) return bad_epoll(epfd);
  if (max <= 0 || max > static_cast<long>(INT_MAX / sizeof(epoll_event))) return -EINVAL;
  if (out == nullptr) return -EFAULT;
  Slot& s = *my_slot();
  const long long start = now_ns();
  // Per entry: its pollfd in the list, which entry each pollfd stands for, and whether
  // it answered only with bits it may not report (EPOLLET), left out of the next round
  // of this call so that it can block.
  const auto entries = static_cast<std::size_t>(instance->count);
  const Scratch scratch(s, entries * (sizeof(pollfd) + sizeof(int) + 1));
  if (!scratch.at()) return -ENOMEM;
  auto* fds = reinterpret_cast<pollfd*>(scratch.at());
  auto* order = reinterpret_cast<int*>(fds + entries);
  auto* skip = reinterpret_cast<bool*>(order + entries);
  std::memset(skip, 0, entries);
  for (;;) {
    std::size_t n = 0;
    const int count = std::min(instance->count, static_cast<int>(entries));  // a handler may add some
    for (int step = 0; step < count; ++step) {
      const int i = (instance->cursor + step) % count;
      Entry& e = instance->entries[i];
      if (e.disabled || skip[i]) continue;
      const std::uint32_t may = armed(e);
      const std::uint32_t wanted = e.events & kPollBits & may;
      if (wanted == 0 && !(may & (EPOLLERR | EPOLLHUP))) continue;
      order[n] = i;
      fds[n++] = pollfd{e.fd, static_cast<short>(wanted), 0};
    }
    const long r = wait_list(s, fds, n, remaining(timeout, start), mask, mask_size);
    if (r <= 0) return r;
    long delivered = 0;
    int last = -1;
    bool closed = false;
    for (std::size_t j = 0; j < n && delivered < max; ++j) {
      if (fds[j].revents == 0) continue;
      const int i = order[j];
      Entry& e = instance->entries[i];
      if (fds[j].revents & POLLNVAL) {
        // A real descriptor closed behind epoll's back: Linux would have dropped it.
        e.disabled = true;
        closed = true;
        continue;
      }
      const std::uint32_t bits = static_cast<std::uint16_t>(fds[j].revents) &
                                 (e.events | EPOLLERR | EPOLLHUP) & armed(e);
      if (bits == 0) {
        skip[i] = true;
        continue;
      }
      out[delivered].events = bits;
      out[delivered].data.u64 = e.data;
      ++delivered;
      last = i;
      if (edge_tracked(e)) e.reported |= bits;
      if (e.events & EPOLLONESHOT) e.disabled = true;
    }
    if (closed) {
      for (int i = instance->count - 1; i >= 0; --i) {
        Entry& e = instance->entries[i];
        if (e.disabled && !is_simulated(e.fd) && raw(SYS_fcntl, e.fd, F_GETFD) < 0)
          remove_entry(*instance, i);
      }
    }
    if (delivered > 0) {
      if (delivered == max && last >= 0 && instance->count > 0)
        instance->cursor = (last + 1) % instance->count;
      return delivered;
    }
    if (timeout == 0) return 0;
  }
}

long do_epoll_close(long epfd) {
  if (Instance* instance = find_instance(epfd)) {
    instance->used = false;
    if (instance->entries)
      raw(SYS_munmap, reinterpret_cast<long>(instance->entries),
          static_cast<long>(instance->capacity) * static_cast<long>(sizeof(Entry)));
    instance->entries = nullptr;
    instance->capacity = 0;
  }
  release_fd(epfd);
  return 0;
}

// Other calls on an epoll descriptor: the placeholder answers the harmless ones.
bool epoll_fd_call(long nr, const long* a, long& result) {
  switch (nr) {
    case SYS_close:
      result = do_epoll_close(a[0]);
      return true;
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
      result = -EINVAL;
      return true;
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
      result = unsupported("dup of an epoll descriptor");
      return true;
    case SYS_fcntl:
      if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) {
        result = unsupported("dup of an epoll descriptor");
        return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace

void epoll_forget(long fd) {
  for (Instance& instance : g_epolls) {
    if (!instance.used) continue;
    for (int i = instance.count - 1; i >= 0; --i)
      if (instance.entries[i].fd == fd) remove_entry(instance, i);
  }
}

void epoll_note_io(long fd, unsigned events) {
  if (fd < 0 || fd >= kTrackedFds) return;
  if (events & EPOLLIN) ++g_read_gen[fd];
  if (events & EPOLLOUT) ++g_write_gen[fd];
}

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
      if (fd_kind(a[0]) != FdKind::epoll) return false;
      return epoll_fd_call(nr, a, result);
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
