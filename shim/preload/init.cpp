// Start-up, before the program's main(): join the region simrun (or exec) passed
// down, make stdio unbuffered, redirect the vDSO clocks, arm the seccomp trap, and
// wait for the scheduler's first turn. A program started without simrun runs untouched.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.hpp"

namespace netsim::shim {
namespace {

[[noreturn]] void fail(const char* message) {
  raw(SYS_write, 2, reinterpret_cast<long>(message), static_cast<long>(strlen(message)));
  raw(SYS_exit_group, 127);
  __builtin_unreachable();
}

__attribute__((constructor(101))) void start() {
  const char* fd_text = getenv(kRegionFdEnv);
  const char* index_text = getenv(kRegionIndexEnv);
  if (!fd_text || !index_text) return;
  if (!map_gate()) {
    static const char message[] = "netsim shim: the address of its system call gate is taken\n";
    (void)!write(2, message, sizeof message - 1);
    _exit(127);
  }
  const int fd = atoi(fd_text);
  set_pool_fd(fd);
  if (!map_region(atoi(index_text))) fail("netsim shim: cannot map the simulator's region\n");
  // The pool's descriptor stays open for exec, above the program's numbers, which
  // start at 3 as on Linux.
  if (fd < kShimFds) {
    const int moved = fcntl(fd, F_DUPFD, kShimFds);
    if (moved < 0) fail("netsim shim: cannot keep the simulator's region (is RLIMIT_NOFILE below 512?)\n");
    close(fd);
    set_pool_fd(moved);
  }
  // The program's environment is its own again; exec puts these back.
  unsetenv(kRegionFdEnv);
  unsetenv(kRegionIndexEnv);
  remember_preload(getenv("LD_PRELOAD"));
  Region* shared = &region();
  if (shared->magic != kRegionMagic || shared->version != kRegionVersion)
    fail("netsim shim: the region is not from this version of simrun\n");
  unplug_low_fds(false);
  set_my_slot(&shared->slots[0]);
  note_thread();
  seed_random(shared->seed);
  // Nothing may sit in a buffer when the process is stopped or crashes: every byte
  // must reach the transcript, in order with the process's other calls.
  setvbuf(stdout, nullptr, _IONBF, 0);
  setvbuf(stderr, nullptr, _IONBF, 0);
  patch_vdso();
  install_trap(!shared->started);
  if (shared->started) {
    join_after_exec();
    return;
  }
  if (shared->simulated_stdin) adopt_fd(0, FdKind::socket);
  forward(kCallStart);
}

}  // namespace
}  // namespace netsim::shim
