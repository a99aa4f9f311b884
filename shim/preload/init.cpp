// Start-up, before the program's main(): join the region simrun passed down, make
// stdio unbuffered, redirect the vDSO clocks, arm the seccomp trap, and wait for the
// scheduler's first turn. A program started without simrun runs untouched.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
  if (!fd_text) return;
  const int fd = atoi(fd_text);
  void* mapping = mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) fail("netsim shim: cannot map the simulator's region\n");
  close(fd);
  // The program's environment is its own again (and an exec'ed child does not
  // inherit a descriptor that is gone).
  unsetenv(kRegionFdEnv);
  auto* shared = static_cast<Region*>(mapping);
  if (shared->magic != kRegionMagic || shared->version != kRegionVersion)
    fail("netsim shim: the region is not from this version of simrun\n");
  set_region(shared);
  set_my_slot(&shared->slots[0]);
  seed_random(shared->seed);
  if (shared->simulated_stdin) adopt_fd(0, FdKind::socket);
  // Nothing may sit in a buffer when the process is stopped or crashes: every byte
  // must reach the transcript, in order with the process's other calls.
  setvbuf(stdout, nullptr, _IONBF, 0);
  setvbuf(stderr, nullptr, _IONBF, 0);
  patch_vdso();
  install_trap();
  forward(kCallStart);
}

}  // namespace
}  // namespace netsim::shim
