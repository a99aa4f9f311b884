// The process's identity and fate: exit, virtual pids, the host name, getrandom(),
// signal masks that must keep SIGSYS deliverable, process groups and sessions (the
// simulator's, by virtual id), and the calls the simulation does not cover yet, which
// fail loudly instead of escaping it.
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>

#include "shim.hpp"

namespace netsim::shim {
namespace {

constexpr unsigned long kSigsysBit = 1UL << (SIGSYS - 1);

// Signals named by virtual ids. To this process (or one of its threads), they go to
// the real ids; to another simulated process, through the simulator, in simulated
// order; and a name that no simulated process has reaches nothing, whatever real
// process may have that number.
long kill_call(long pid, long signal) {
  if (pid == region().pid) return raw(SYS_kill, raw(SYS_getpid), signal);
  if (my_slot()) return forward(SYS_kill, pid, signal);
  return -ESRCH;
}

// tgkill, tkill, rt_tgsigqueueinfo (tgid 0: tkill's "any process"); info is for the
// queueing call only.
long thread_signal(long nr, long tgid, long tid, long signal, long info) {
  if (tid <= 0 || tgid < 0) return -EINVAL;
  const long real = real_tid_of(tid);
  if (real > 0 && (tgid == 0 || tgid == region().pid)) {
    if (nr == SYS_rt_tgsigqueueinfo) return raw(SYS_rt_tgsigqueueinfo, raw(SYS_getpid), real, signal, info);
    return raw(SYS_tgkill, raw(SYS_getpid), real, signal);
  }
  // Another process's thread (or one this process does not know yet): the simulator
  // knows every thread's id, and delivers signals to its process.
  if (!my_slot()) return -ESRCH;
  return forward(SYS_kill, tid, signal, tgid);
}

// wait4(pid, status, options, rusage): the simulation picks the child and its status;
// its real zombie, which follows its simulated exit at once, is reaped here too.
long wait_call(long pid, long nohang, int* status, long* child_status) {
  if (!my_slot()) return -ECHILD;
  Slot& slot = *my_slot();
  const long r = forward(SYS_wait4, pid, nohang);
  if (r <= 0) return r;
  *child_status = slot.args[1];
  if (const long real = slot.args[2]; real > 0) raw(SYS_wait4, real, 0, __WALL, 0);
  if (status) *status = static_cast<int>(*child_status);
  return r;
}

long waitid_call(const long* a) {
  long pid;
  switch (a[0]) {
    case P_ALL: case P_PGID: pid = -1; break;
    case P_PID: pid = a[1]; break;
    default: return unsupported("waitid() on a pidfd");
  }
  if (a[3] & WNOWAIT) return unsupported("waitid(WNOWAIT)");
  long status = 0;
  const long r = wait_call(pid, a[3] & WNOHANG, nullptr, &status);
  if (r < 0) return r;
  auto* info = reinterpret_cast<siginfo_t*>(a[2]);
  if (!info) return 0;
  memset(info, 0, sizeof *info);
  if (r == 0) return 0;
  info->si_signo = SIGCHLD;
  info->si_pid = static_cast<pid_t>(r);
  info->si_uid = static_cast<uid_t>(raw(SYS_getuid));
  const int s = static_cast<int>(status);
  info->si_code = WIFEXITED(s) ? CLD_EXITED : CLD_KILLED;
  info->si_status = WIFEXITED(s) ? WEXITSTATUS(s) : WTERMSIG(s);
  return 0;
}

[[noreturn]] void exit_process(long status) {
  if (my_slot()) forward(kCallExit, status);
  for (;;) raw(SYS_exit_group, status);
}

long sigaction_call(const long* a) {
  // The kernel's struct sigaction: handler, flags, restorer, mask.
  struct KernelSigaction {
    long handler;
    unsigned long flags;
    long restorer;
    unsigned long mask;
  };
  // The shim's SIGSYS handler is what keeps the program inside the simulation.
  if (a[0] == SIGSYS && a[1]) return 0;
  if (!a[1]) return raw(SYS_rt_sigaction, a[0], 0, a[2], a[3]);
  KernelSigaction act;
  memcpy(&act, reinterpret_cast<const void*>(a[1]), sizeof act);
  // A handler running with SIGSYS blocked could not make a single simulated call.
  act.mask &= ~kSigsysBit;
  const long r = raw(SYS_rt_sigaction, a[0], reinterpret_cast<long>(&act), a[2], a[3]);
  if (r == 0 && a[0] == SIGCHLD) {
    const bool handled = act.handler != reinterpret_cast<long>(SIG_DFL) &&
                         act.handler != reinterpret_cast<long>(SIG_IGN);
    region().sigchld = !handled ? 0 : kSigchldHandled | (act.flags & SA_RESTART ? kSigchldRestart : 0);
  }
  return r;
}

long sigprocmask_call(const long* a) {
  if (!a[1]) return raw(SYS_rt_sigprocmask, a[0], 0, a[2], a[3]);
  unsigned long set;
  memcpy(&set, reinterpret_cast<const void*>(a[1]), sizeof set);
  set &= ~kSigsysBit;
  return raw(SYS_rt_sigprocmask, a[0], reinterpret_cast<long>(&set), a[2], a[3]);
}

}  // namespace

bool process_call(long nr, const long* a, long& r) {
  switch (nr) {
    case SYS_exit_group:
      exit_process(a[0]);
    case SYS_exit:
      end_simulated_thread();
      for (;;) raw(SYS_exit, a[0]);
    case SYS_getpid:
      r = region().pid;
      return true;
    case SYS_getppid:
      r = region().ppid;
      return true;
    case SYS_gettid:
      r = virtual_tid(my_slot() ? my_slot() - region().slots : 0);
      return true;
    case SYS_getrandom: {
      r = random_bytes(reinterpret_cast<void*>(a[0]), a[1]);
      return true;
    }
    case SYS_kill:
      r = kill_call(a[0], a[1]);
      return true;
    case SYS_setpgid:
    case SYS_getpgid:
    case SYS_getsid:
      r = my_slot() ? forward(nr, a[0], a[1]) : -ENOSYS;
      return true;
    case SYS_getpgrp:
      r = my_slot() ? forward(SYS_getpgid, 0) : -ENOSYS;
      return true;
    case SYS_setsid:
      r = my_slot() ? forward(SYS_setsid) : -ENOSYS;
      return true;
    case SYS_tgkill:
      r = thread_signal(nr, a[0] == 0 ? -1 : a[0], a[1], a[2], 0);
      return true;
    case SYS_tkill:
      r = thread_signal(nr, 0, a[0], a[1], 0);
      return true;
    case SYS_rt_tgsigqueueinfo:
      r = thread_signal(nr, a[0] == 0 ? -1 : a[0], a[1], a[2], a[3]);
      return true;
    case SYS_rt_sigqueueinfo:
      r = a[0] == region().pid ? raw(SYS_rt_sigqueueinfo, raw(SYS_getpid), a[1], a[2]) : kill_call(a[0], a[1]);
      return true;
    case SYS_rt_sigaction:
      r = sigaction_call(a);
      return true;
    case SYS_rt_sigprocmask:
      r = sigprocmask_call(a);
      return true;
    case SYS_clone3:
      // glibc falls back to clone(), whose flags the filter can read.
      r = -ENOSYS;
      return true;
    case SYS_clone:
      r = fork_call(a[0], a[2], a[3], a[4]);
      return true;
    case SYS_fork:
    case SYS_vfork:
      r = fork_call(SIGCHLD, 0, 0, 0);
      return true;
    case SYS_execve:
    case SYS_execveat:
      r = exec_call(nr, a);
      return true;
    case SYS_wait4: {
      if (a[3]) memset(reinterpret_cast<void*>(a[3]), 0, sizeof(struct rusage));
      long status = 0;
      r = wait_call(a[0], a[2] & WNOHANG, reinterpret_cast<int*>(a[1]), &status);
      return true;
    }
    case SYS_waitid:
      r = waitid_call(a);
      return true;
    case SYS_close_range:
      r = close_range_call(a);
      return true;
    default:
      return false;
  }
}

}  // namespace netsim::shim
