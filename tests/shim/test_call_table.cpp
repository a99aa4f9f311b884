// The seccomp filter (shim/preload/filter.cpp) against the table of intercepted calls
// (shim/preload/calls.hpp): every system call number, made from outside the shim's
// gate and from it, with descriptors inside and outside the loader's window, must get
// the verdict the table says. The filter is run here by a small interpreter of the
// classic BPF instructions it uses, so the test needs no seccomp of its own. (The
// libc wrappers are checked against the table when they compile: wrappers.cpp.)
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <string>

#include "calls.hpp"
#include "filter.hpp"
#include "netsim/shim/arch.hpp"

using namespace netsim::shim;

namespace {

constexpr unsigned long kGateIp = 0x7f0000000002UL;
constexpr unsigned long kProgramIp = 0x555555554000UL;
constexpr unsigned kErrno = SECCOMP_RET_ERRNO | ENOSYS;

unsigned run(const Filter& filter, const seccomp_data& data) {
  unsigned a = 0;
  for (unsigned pc = 0; pc < filter.size; ++pc) {
    const sock_filter& i = filter.code[pc];
    switch (i.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        REQUIRE(i.k + 4 <= sizeof data);
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + i.k, 4);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i.k ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i.k ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i.k) ? i.jt : i.jf; break;
      case BPF_RET | BPF_K: return i.k;
      default: FAIL("an instruction the interpreter does not know: " << i.code);
    }
  }
  FAIL("the program ran off its end");
  return 0;
}

unsigned verdict(const Filter& filter, long nr, long arg0, unsigned long ip = kProgramIp,
                 unsigned arch = arch::kAuditArch) {
  seccomp_data data{};
  data.nr = static_cast<int>(nr);
  data.arch = arch;
  data.instruction_pointer = ip;
  data.args[0] = static_cast<std::uint64_t>(arg0);
  return run(filter, data);
}

bool refused_everywhere(long nr) {
  return nr == SYS_io_uring_setup || nr == SYS_io_uring_enter || nr == SYS_io_uring_register;
}
bool refused_to_programs(long nr) {
  return nr == SYS_pidfd_open || nr == SYS_pidfd_send_signal || nr == SYS_pidfd_getfd;
}

// What the table says call `nr` with first argument `arg0` meets, made by a program.
unsigned expected(long nr, long arg0) {
  if (refused_everywhere(nr) || refused_to_programs(nr)) return kErrno;
  const InterceptedCall* call = intercepted(nr);
  if (!call) return SECCOMP_RET_ALLOW;
  const auto fd = static_cast<std::uint32_t>(arg0);
  const bool in_window = fd >= static_cast<std::uint32_t>(kLoaderFds) && fd < static_cast<std::uint32_t>(kShimFds);
  switch (call->trap) {
    case Trap::always: return SECCOMP_RET_TRAP;
    case Trap::on_fd: return in_window ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRAP;
    case Trap::on_fd_at: return in_window || arg0 == AT_FDCWD ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRAP;
    case Trap::process_clone: return (arg0 & CLONE_THREAD) ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRAP;
    case Trap::never: return SECCOMP_RET_ALLOW;
  }
  return 0;
}

const Filter& built() {
  static Filter filter;
  if (filter.size == 0) build_filter(filter, kGateIp);
  return filter;
}

}  // namespace

TEST_CASE("call table: every call made by a program meets the filter the table says", "[call_table]") {
  const Filter& filter = built();
  const long firsts[] = {0, 3, kLoaderFds - 1, kLoaderFds, kShimFds - 1, kShimFds, 1000, AT_FDCWD, CLONE_THREAD};
  for (long nr = 0; nr < kMaxLinuxCall; ++nr)
    for (long arg0 : firsts) {
      INFO("call " << nr << ", first argument " << arg0);
      CHECK(verdict(filter, nr, arg0) == expected(nr, arg0));
    }
}

TEST_CASE("call table: the gate passes everything but io_uring; other architectures are refused", "[call_table]") {
  const Filter& filter = built();
  for (long nr = 0; nr < kMaxLinuxCall; ++nr) {
    INFO("call " << nr);
    CHECK(verdict(filter, nr, 3, kGateIp) == (refused_everywhere(nr) ? kErrno : SECCOMP_RET_ALLOW));
    CHECK(verdict(filter, nr, 3, kProgramIp, AUDIT_ARCH_I386) == kErrno);
  }
  CHECK(verdict(filter, SYS_read | arch::kX32Bit, 3) == kErrno);
}

TEST_CASE("call table: each call once, known to the system, routed, and the filter fits", "[call_table]") {
  std::set<long> numbers;
  std::set<std::string> names;
  for (const InterceptedCall& call : kCalls) {
    INFO(call.name);
    CHECK(numbers.insert(call.nr).second);
    CHECK(names.insert(call.name).second);
    CHECK(call.nr >= 0);
    CHECK(call.nr < kMaxLinuxCall);
    CHECK(routed(call.nr, call.route));
  }
  CHECK(built().size <= sizeof(Filter::code) / sizeof(Filter::code[0]));
  // The calls that take a descriptor are trapped on it; lseek and the positioned
  // reads and writes among them (their drift: lseek on a socket answered 0).
  for (long nr : {SYS_lseek, SYS_pread64, SYS_pwrite64, SYS_preadv2, SYS_pwritev2}) {
    REQUIRE(intercepted(nr));
    CHECK(intercepted(nr)->route == Route::fd);
    CHECK(intercepted(nr)->trap == Trap::on_fd);
  }
}
