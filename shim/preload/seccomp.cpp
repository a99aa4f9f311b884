// The second layer of interception, as in Shadow: a seccomp filter (filter.cpp) that
// traps (SIGSYS) the calls netsim simulates when they are made from anywhere but the
// shim's own system call instruction: libc's internal calls (stdio's writes, the
// futexes of its locks, clone3 in pthread_create) and raw syscall(). The handler
// takes the same route as the libc wrappers.
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <ucontext.h>

#include <cerrno>

#include "filter.hpp"
#include "shim.hpp"

// The handler's return (arch.cpp): rt_sigreturn, which the filter lets through.
extern "C" void netsim_restore_rt();

namespace netsim::shim {
namespace {

// The kernel's flag for a handler that brings its own return (libc's headers hide it).
constexpr unsigned long kSaRestorer = 0x04000000;

// rt_sigprocmask from the handler: the mask to change is the one sigreturn restores.
long mask_in_handler(ucontext_t* context, const long* a) {
  unsigned long mask;
  memcpy(&mask, &context->uc_sigmask, sizeof mask);
  if (a[2]) memcpy(reinterpret_cast<void*>(a[2]), &mask, sizeof mask);
  if (!a[1]) return 0;
  unsigned long set;
  memcpy(&set, reinterpret_cast<const void*>(a[1]), sizeof set);
  switch (a[0]) {
    case SIG_BLOCK: mask |= set; break;
    case SIG_UNBLOCK: mask &= ~set; break;
    case SIG_SETMASK: mask = set; break;
    default: return -EINVAL;
  }
  mask &= ~(1UL << (SIGSYS - 1));
  memcpy(&context->uc_sigmask, &mask, sizeof mask);
  return 0;
}

void on_sigsys(int, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const int saved_errno = errno;
  const long nr = info->si_syscall;
  long args[6];
  arch::syscall_args(*uc, args);
  arch::set_syscall_result(*uc, nr == SYS_rt_sigprocmask ? mask_in_handler(uc, args) : dispatch(nr, args));
  // A forked child given a stack of its own (posix_spawn's clone) starts on it.
  if (nr == SYS_clone && arch::syscall_result(*uc) == 0 && args[1]) arch::set_stack(*uc, args[1]);
  errno = saved_errno;
}

}  // namespace

void install_trap(bool filter) {
  // Set through the gate: an exec'ed image runs under its predecessor's filter, which
  // traps libc's own rt_sigaction.
  struct {
    void (*handler)(int, siginfo_t*, void*);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } action = {on_sigsys, SA_SIGINFO | SA_NODEFER | kSaRestorer, netsim_restore_rt, 0};
  // SA_NODEFER: a signal the reply delivers may run a handler that makes simulated
  // calls, nested inside this one.
  raw(SYS_rt_sigaction, SIGSYS, reinterpret_cast<long>(&action), 0, sizeof action.mask);
  if (!filter) return;
  static Filter program;
  build_filter(program, kGateAddress + arch::kSyscallSize);
  struct sock_fprog fprog = {program.size, program.code};
  raw(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  raw(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&fprog));
}

}  // namespace netsim::shim
