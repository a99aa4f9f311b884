// fork(), vfork() and posix_spawn's clone(CLONE_VM | CLONE_VFORK), all as a fork: the
// simulator makes the child's process, region and main task first; then the real
// fork, from the shim's own system call instruction; the child takes its own region
// and waits for its first turn before it returns 0. A vfork that shares nothing goes
// on in parallel with its parent, which every caller has to accept of fork anyway.
#include <linux/sched.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {

long fork_call(long flags, long parent_tid, long child_tid, long tls) {
  // A thread with no slot could not tell the simulator about its child.
  if (!my_slot()) return -ENOSYS;
  Slot& slot = *my_slot();
  const long index = forward(kCallFork);
  if (index < 0) return index;
  const long child_pid = slot.args[1];
  // The thread-id bookkeeping glibc asks for; never a shared address space, whose
  // child would run on its parent's memory. No exit signal: the real SIGCHLD would
  // come whenever the real child ends, and the simulator sends its own in simulated
  // order (the real zombie is reaped with __WALL all the same).
  const long real_flags =
      flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID | CLONE_SETTLS);
  const long pid = raw(SYS_clone, real_flags, 0, parent_tid, child_tid, tls);
  if (pid == 0) {
    // The parent's region goes: nothing here may call on its slots.
    if (!map_region(static_cast<int>(index))) raw(SYS_exit_group, 127);
    set_my_slot(&region().slots[0]);
    forget_threads();
    note_thread();
    seed_random(region().seed);
    forward(kCallStart);
    return 0;
  }
  // The simulator takes a copy of the pidfd (pidfd_getfd): the pid alone means
  // nothing outside the run's PID namespace.
  const long pidfd = pid > 0 ? raw(SYS_pidfd_open, pid, 0) : -1;
  forward(kCallForked, index, pid, pidfd);
  if (pidfd >= 0) raw(SYS_close, pidfd);
  return pid < 0 ? pid : child_pid;
}

}  // namespace netsim::shim
