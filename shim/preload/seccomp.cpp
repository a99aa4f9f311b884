// The second layer of interception, as in Shadow: a seccomp filter that traps
// (SIGSYS) the calls netsim simulates when they are made from anywhere but the shim's
// own system call instruction: libc's internal calls (stdio's writes, the futexes of
// its locks, clone3 in pthread_create) and raw syscall(). The handler takes the same
// route as the libc wrappers.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <ucontext.h>

#include <cerrno>

#include "shim.hpp"

// The handler's return: rt_sigreturn, which the filter lets through from anywhere.
extern "C" void netsim_restore_rt();
asm(R"(
  .text
  .globl netsim_restore_rt
  .type netsim_restore_rt, @function
netsim_restore_rt:
  movq $15, %rax
  syscall
  .size netsim_restore_rt, .-netsim_restore_rt
)");

namespace netsim::shim {
namespace {

// Always trapped: ld.so never makes these, so a program exec'ed with the filter
// inherited reaches the shim's constructor alive.
constexpr long kTrapped[] = {
    SYS_socket, SYS_socketpair, SYS_bind, SYS_listen, SYS_accept, SYS_accept4, SYS_connect,
    SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg,
    SYS_shutdown, SYS_getsockname, SYS_getpeername, SYS_setsockopt, SYS_getsockopt, SYS_pipe,
    SYS_pipe2,
    SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_epoll_create, SYS_epoll_create1,
    SYS_epoll_ctl, SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_futex,
    SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime, SYS_gettimeofday, SYS_time,
    SYS_getrandom, SYS_uname, SYS_sched_getaffinity, SYS_clone3, SYS_fork, SYS_vfork, SYS_execve, SYS_execveat,
    SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_exit, SYS_exit_group, SYS_getpid,
    SYS_getppid, SYS_gettid, SYS_kill, SYS_tgkill, SYS_tkill, SYS_rt_sigqueueinfo,
    SYS_rt_tgsigqueueinfo, SYS_alarm, SYS_setitimer, SYS_getitimer,
    SYS_timer_create, SYS_timer_settime, SYS_timer_gettime, SYS_timer_getoverrun, SYS_timer_delete,
    SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_wait4, SYS_waitid, SYS_close_range,
    SYS_eventfd, SYS_eventfd2, SYS_setpgid, SYS_getpgid, SYS_getpgrp, SYS_setsid, SYS_getsid,
};

// Trapped when their descriptor is outside the loader's window (channel.hpp): where
// simulated descriptors and the program's own files both are. The shim makes the
// calls on real files for real.
constexpr long kTrappedOnFd[] = {
    SYS_read,  SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_preadv,
    SYS_pwritev, SYS_close, SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl, SYS_ioctl, SYS_fstat,
    SYS_sendfile,
};

constexpr unsigned kArg0 = offsetof(struct seccomp_data, args[0]);
constexpr unsigned kNr = offsetof(struct seccomp_data, nr);
constexpr unsigned kArch = offsetof(struct seccomp_data, arch);
constexpr unsigned kIpLow = offsetof(struct seccomp_data, instruction_pointer);
constexpr unsigned kIpHigh = kIpLow + 4;

struct Program {
  struct sock_filter code[512];
  unsigned short size = 0;
  void add(unsigned short op, unsigned k, unsigned char jt = 0, unsigned char jf = 0) {
    code[size++] = BPF_JUMP(op, k, jt, jf);
  }
  void load(unsigned offset) { add(BPF_LD | BPF_W | BPF_ABS, offset); }
  void ret(unsigned action) { add(BPF_RET | BPF_K, action); }
};

void build(Program& p) {
  const unsigned long ip = kGateAddress + 2;  // after the gate's syscall
  constexpr unsigned kAllow = SECCOMP_RET_ALLOW;
  constexpr unsigned kTrap = SECCOMP_RET_TRAP;
  // 32-bit and x32 calls would bypass every check below.
  p.load(kArch);
  p.add(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  p.ret(SECCOMP_RET_ERRNO | ENOSYS);
  p.load(kNr);
  p.add(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
  p.ret(SECCOMP_RET_ERRNO | ENOSYS);
  // io_uring does socket I/O in the kernel's own threads, where no trap can see it:
  // refused from everywhere, the gate included, as by a kernel built without it.
  for (long nr : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register}) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
    p.ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  // The shim's own instruction.
  p.load(kIpHigh);
  p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(ip >> 32), 0, 3);
  p.load(kIpLow);
  p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(ip), 0, 1);
  p.ret(kAllow);
  p.load(kNr);
  // A pidfd names a real process by its real id: refused to the program, as by a
  // kernel older than pidfds; programs fall back (Python's asyncio to a thread that
  // waits for its children). The shim opens one for the simulator when it forks.
  for (long nr : {SYS_pidfd_open, SYS_pidfd_send_signal, SYS_pidfd_getfd}) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
    p.ret(SECCOMP_RET_ERRNO | ENOSYS);
  }
  for (long nr : kTrapped) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
    p.ret(kTrap);
  }
  for (long nr : kTrappedOnFd) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 5);
    p.load(kArg0);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kLoaderFds, 0, 2);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kShimFds, 1, 0);
    p.ret(kAllow);
    p.ret(kTrap);
  }
  // fstat() is newfstatat(fd, "", AT_EMPTY_PATH); every stat() is newfstatat(AT_FDCWD,
  // path), which must not pay for a trap.
  for (long nr : {SYS_newfstatat, SYS_statx}) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 6);
    p.load(kArg0);
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(AT_FDCWD), 2, 0);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kLoaderFds, 0, 2);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kShimFds, 1, 0);
    p.ret(kAllow);
    p.ret(kTrap);
  }
  // clone() makes threads (allowed: pthread_create is wrapped) or processes (trapped).
  p.add(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
  p.load(kArg0);
  p.add(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
  p.ret(kAllow);
  p.ret(kTrap);
  p.ret(kAllow);
}

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
  greg_t* regs = uc->uc_mcontext.gregs;
  const int saved_errno = errno;
  const long nr = info->si_syscall;
  const long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                        regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  regs[REG_RAX] = nr == SYS_rt_sigprocmask ? mask_in_handler(uc, args) : dispatch(nr, args);
  // A forked child given a stack of its own (posix_spawn's clone) starts on it.
  if (nr == SYS_clone && regs[REG_RAX] == 0 && args[1]) regs[REG_RSP] = args[1];
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
  static Program program;
  build(program);
  struct sock_fprog fprog = {program.size, program.code};
  raw(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  raw(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&fprog));
}

}  // namespace netsim::shim
