// The seccomp filter's program (filter.hpp).
#include "filter.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include <cerrno>

#include "calls.hpp"
#include "netsim/shim/arch.hpp"
#include "netsim/shim/channel.hpp"

namespace netsim::shim {
namespace {

// The filter's lists, from calls.hpp.
constexpr auto kTrapped = trapped<Trap::always>();
constexpr auto kTrappedOnFd = trapped<Trap::on_fd>();
constexpr auto kTrappedOnFdAt = trapped<Trap::on_fd_at>();
constexpr auto kTrappedClone = trapped<Trap::process_clone>();

constexpr unsigned kArg0 = offsetof(struct seccomp_data, args[0]);
constexpr unsigned kNr = offsetof(struct seccomp_data, nr);
constexpr unsigned kArch = offsetof(struct seccomp_data, arch);
constexpr unsigned kIpLow = offsetof(struct seccomp_data, instruction_pointer);
constexpr unsigned kIpHigh = kIpLow + 4;

struct Program {
  Filter& filter;
  void add(unsigned short op, unsigned k, unsigned char jt = 0, unsigned char jf = 0) {
    filter.code[filter.size++] = BPF_JUMP(op, k, jt, jf);
  }
  void load(unsigned offset) { add(BPF_LD | BPF_W | BPF_ABS, offset); }
  void ret(unsigned action) { add(BPF_RET | BPF_K, action); }
};

}  // namespace

void build_filter(Filter& filter, unsigned long ip) {
  Program p{filter};
  filter.size = 0;
  constexpr unsigned kAllow = SECCOMP_RET_ALLOW;
  constexpr unsigned kTrap = SECCOMP_RET_TRAP;
  // 32-bit and x32 calls would bypass every check below.
  p.load(kArch);
  p.add(BPF_JMP | BPF_JEQ | BPF_K, arch::kAuditArch, 1, 0);
  p.ret(SECCOMP_RET_ERRNO | ENOSYS);
  p.load(kNr);
  p.add(BPF_JMP | BPF_JGE | BPF_K, arch::kX32Bit, 0, 1);
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
  for (long nr : kTrapped.nr) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
    p.ret(kTrap);
  }
  // Trapped unless args[0] lies in the loader's window; `stat_path`: or is AT_FDCWD.
  // fstat() is newfstatat(fd, "", AT_EMPTY_PATH); every stat() is newfstatat(AT_FDCWD,
  // path), which must not pay for a trap.
  auto trap_on_fd = [&](long nr, bool stat_path) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, stat_path ? 6 : 5);
    p.load(kArg0);
    if (stat_path) p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(AT_FDCWD), 2, 0);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kLoaderFds, 0, 2);
    p.add(BPF_JMP | BPF_JGE | BPF_K, kShimFds, 1, 0);
    p.ret(kAllow);
    p.ret(kTrap);
  };
  for (long nr : kTrappedOnFd.nr) trap_on_fd(nr, false);
  for (long nr : kTrappedOnFdAt.nr) trap_on_fd(nr, true);
  // clone() makes threads (allowed: pthread_create is wrapped) or processes (trapped).
  for (long nr : kTrappedClone.nr) {
    p.add(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 4);
    p.load(kArg0);
    p.add(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
    p.ret(kAllow);
    p.ret(kTrap);
  }
  p.ret(kAllow);
}


}  // namespace netsim::shim
