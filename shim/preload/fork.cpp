// fork(), vfork() and posix_spawn's clone(CLONE_VM | CLONE_VFORK), all as a fork: the
// simulator makes the child's process, region and main task first; then the real
// fork, from the shim's own system call instruction; the child takes its own region
// and waits for its first turn before it returns 0. A vfork that shares nothing goes
// on in parallel with its parent, which every caller has to accept of fork anyway.
#include <linux/sched.h>
#include <signal.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {

long fork_call(long flags, long parent_tid, long child_tid, long tls) {
  if (!my_slot()) return unsupported("fork() from a thread netsim does not schedule");
  Slot& slot = *my_slot();
  const long index = forward(kCallFork);
  if (index < 0) return index;
  const long child_pid = slot.args[1];
  // The exit signal and the thread-id bookkeeping glibc asks for; never a shared
  // address space, whose child would run on its parent's memory.
  const long real_flags = (flags & (CSIGNAL | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID |
                                    CLONE_SETTLS)) | (flags & CSIGNAL ? 0 : SIGCHLD);
  const long pid = raw(SYS_clone, real_flags, 0, parent_tid, child_tid, tls);
  if (pid == 0) {
    set_region(pool() + index);
    set_my_slot(&region().slots[0]);
    forget_threads();
    seed_random(region().seed);
    forward(kCallStart);
    return 0;
  }
  forward(kCallForked, index, pid);
  return pid < 0 ? pid : child_pid;
}

}  // namespace netsim::shim
