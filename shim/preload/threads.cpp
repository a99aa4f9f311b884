// Threads and futexes. Each thread pthread_create starts gets a slot and a task in the
// simulator before it exists, and waits for its first turn before running any of the
// program's code; futex waits and wakes (what every mutex, condition variable and
// semaphore, Python's GIL included, comes down to) are scheduled by the core.
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <cerrno>
#include <climits>

#include "shim.hpp"

namespace netsim::shim {
namespace {

struct Start {
  void* (*routine)(void*);
  void* arg;
  long index;
};

// Per slot: the pthread_t of its thread and whether that thread has left the
// simulation, for pthread_join. A joiner futex-waits on `done`.
pthread_t g_threads[kMaxThreads];
int g_done[kMaxThreads];
// Per slot: the thread's real id, which a signal to it by its virtual id needs; 0
// while the slot has no thread.
long g_real_tids[kMaxThreads];
// Per slot but the main thread's: the thread's virtual id, from the simulator's
// answer to kCallThreadCreate.
long g_virtual_tids[kMaxThreads];
// One past the highest slot a thread of this process has had: the tables above are
// looked at up to here only, so that a process with few threads never touches the rest.
long g_slots_used = 1;

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// The calling thread's id as simrun sees it: /proc/thread-self links to "TGID/task/TID"
// numbered in the PID namespace of /proc, simrun's. 0 when it cannot be read.
long simulator_tid() {
  char link[64];
  const long size = raw(SYS_readlinkat, AT_FDCWD, reinterpret_cast<long>("/proc/thread-self"),
                        reinterpret_cast<long>(link), sizeof link - 1);
  if (size <= 0) return 0;
  long tid = 0;
  for (long i = 0; i < size; ++i) tid = link[i] == '/' ? 0 : tid * 10 + (link[i] - '0');
  return tid;
}

void* trampoline(void* p) {
  const Start start = *static_cast<Start*>(p);
  set_my_slot(&region().slots[start.index]);
  note_thread();
  forward(kCallStart, simulator_tid());
  // Not before: until its first turn the thread runs alongside its creator, and a
  // free() may take a malloc lock the creator waits for in the simulation, where
  // this thread's wake would never arrive.
  free(p);
  void* result = start.routine(start.arg);
  end_simulated_thread();
  return result;
}

long slot_of(pthread_t thread) {
  for (long i = 1; i < g_slots_used; ++i)
    if (g_threads[i] == thread) return i;
  return -1;
}

long long futex_timeout_ns(const long* a, int command) {
  const auto* ts = reinterpret_cast<const struct timespec*>(a[3]);
  if (!ts) return -1;
  const long long ns = ts->tv_sec * 1'000'000'000LL + ts->tv_nsec;
  // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's an absolute time.
  if (command == FUTEX_WAIT) return ns;
  const long long now = (a[1] & FUTEX_CLOCK_REALTIME) ? now_realtime_ns() : now_monotonic_ns();
  return ns > now ? ns - now : 0;
}

}  // namespace

void forget_threads() {
  for (long i = 0; i < g_slots_used; ++i) {
    g_threads[i] = 0;
    g_done[i] = 0;
    g_real_tids[i] = 0;
    g_virtual_tids[i] = 0;
  }
  g_slots_used = 1;
}

void note_thread() {
  if (Slot* slot = my_slot()) g_real_tids[slot - region().slots] = raw(SYS_gettid);
}

long virtual_tid(long index) { return index == 0 ? region().pid : g_virtual_tids[index]; }

long real_tid_of(long tid) {
  for (long i = 0; i < g_slots_used; ++i)
    if (g_real_tids[i] && virtual_tid(i) == tid) return g_real_tids[i];
  // pthread_kill() names another thread by the real id the kernel gave glibc.
  for (long i = 0; i < g_slots_used; ++i)
    if (g_real_tids[i] == tid) return tid;
  return -ESRCH;
}

void end_simulated_thread() {
  Slot* slot = my_slot();
  if (!slot) return;
  const long index = slot - region().slots;
  g_done[index] = 1;
  g_real_tids[index] = 0;
  // Joiners wait in the simulation, so the wake goes there; SYS_futex here carries
  // (address, FUTEX_WAKE, count) as below.
  forward(SYS_futex, reinterpret_cast<long>(&g_done[index]), FUTEX_WAKE, INT_MAX);
  forward(kCallThreadExit, raw(SYS_gettid));
  set_my_slot(nullptr);
  // The reply is read: the simulator may give the slot to a new thread.
  slot->state.store(static_cast<std::uint32_t>(SlotState::idle), std::memory_order_release);
}

// SYS_futex is forwarded as args = (address, FUTEX_WAIT, timeout in ns or -1, shared)
// or (address, FUTEX_WAKE, count, shared); the simulator keys the queue by pid and
// address, or for a shared futex (no FUTEX_PRIVATE_FLAG) by address alone.
bool thread_call(long nr, const long* a, long& r) {
  if (nr != SYS_futex || !my_slot()) return false;
  const int command = static_cast<int>(a[1] & FUTEX_CMD_MASK);
  const long shared = (a[1] & FUTEX_PRIVATE_FLAG) ? 0 : 1;
  switch (command) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      // Linux's compare of the word: no other simulated thread runs until this one
      // blocks, so the check and the wait cannot be separated.
      const int word = __atomic_load_n(reinterpret_cast<const int*>(a[0]), __ATOMIC_ACQUIRE);
      if (word != static_cast<int>(a[2])) {
        r = -EAGAIN;
        return true;
      }
      const long long timeout = futex_timeout_ns(a, command);
      r = timeout == 0 ? -ETIMEDOUT : forward(SYS_futex, a[0], FUTEX_WAIT, timeout, shared);
      return true;
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
      r = forward(SYS_futex, a[0], FUTEX_WAKE, a[2], shared);
      return true;
    default:
      r = unsupported("futex() operation other than WAIT/WAKE (requeue, PI locks)");
      return true;
  }
}

}  // namespace netsim::shim

using netsim::shim::forward;
using netsim::shim::my_slot;

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                              void* (*routine)(void*), void* arg) {
  static auto real_create = netsim::shim::real<int (*)(pthread_t*, const pthread_attr_t*,
                                                       void* (*)(void*), void*)>("pthread_create");
  if (!my_slot()) return real_create(thread, attr, routine, arg);
  const long index = forward(netsim::shim::kCallThreadCreate);
  if (index < 0) return EAGAIN;
  netsim::shim::g_virtual_tids[index] = my_slot()->args[1];
  auto* start = static_cast<netsim::shim::Start*>(malloc(sizeof(netsim::shim::Start)));
  if (!start) {
    forward(netsim::shim::kCallThreadAbandon, index);
    return EAGAIN;
  }
  *start = {routine, arg, index};
  netsim::shim::g_done[index] = 0;
  if (index >= netsim::shim::g_slots_used) netsim::shim::g_slots_used = index + 1;
  const int rc = real_create(thread, attr, netsim::shim::trampoline, start);
  if (rc != 0) {
    free(start);
    forward(netsim::shim::kCallThreadAbandon, index);
  } else {
    // A pthread_t is reused once its thread is gone: only the newest slot may claim it.
    for (long i = 1; i < netsim::shim::g_slots_used; ++i)
      if (netsim::shim::g_threads[i] == *thread) netsim::shim::g_threads[i] = 0;
    netsim::shim::g_threads[index] = *thread;
  }
  return rc;
}

extern "C" void pthread_exit(void* result) {
  static auto real_exit = netsim::shim::real<void (*)(void*)>("pthread_exit");
  netsim::shim::end_simulated_thread();
  real_exit(result);
  __builtin_unreachable();
}

extern "C" int pthread_join(pthread_t thread, void** result) {
  static auto real_join = netsim::shim::real<int (*)(pthread_t, void**)>("pthread_join");
  netsim::shim::Slot* self = my_slot();
  const long index = self ? netsim::shim::slot_of(thread) : -1;
  if (index < 0) return real_join(thread, result);
  // First in the simulation, until the thread has left it; then for real, a short
  // wait for its exit to finish, during which this thread makes no simulated call.
  while (!__atomic_load_n(&netsim::shim::g_done[index], __ATOMIC_ACQUIRE))
    forward(SYS_futex, reinterpret_cast<long>(&netsim::shim::g_done[index]), FUTEX_WAIT, -1);
  netsim::shim::set_my_slot(nullptr);
  const int rc = real_join(thread, result);
  netsim::shim::set_my_slot(self);
  netsim::shim::g_threads[index] = 0;
  return rc;
}
