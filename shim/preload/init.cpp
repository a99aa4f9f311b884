// Start-up, before the program's main() and before any other library's constructor,
// libc's included (the shim is linked -z initfirst): join the region simrun (or exec)
// passed down, make stdio unbuffered, redirect the vDSO clocks, arm the seccomp trap,
// and wait for the scheduler's first turn. A library's constructor that calls
// getrandom then gets the seeded bytes, and after an exec (whose image inherits the
// filter) finds the trap's handler installed instead of dying of SIGSYS. A program
// started without simrun runs untouched.
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

// libc has not set `environ` yet: the environment is the array the loader passes,
// which libc's own constructor then takes as it is.
const char* env_value(char** envp, const char* name) {
  const std::size_t length = strlen(name);
  for (char** entry = envp; *entry; ++entry)
    if (strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return *entry + length + 1;
  return nullptr;
}

// unsetenv's way: the entries after it move up.
void drop_env(char** envp, const char* name) {
  const std::size_t length = strlen(name);
  char** out = envp;
  for (char** entry = envp; *entry; ++entry)
    if (strncmp(*entry, name, length) != 0 || (*entry)[length] != '=') *out++ = *entry;
  *out = nullptr;
}

__attribute__((constructor(101))) void start(int, char**, char** envp) {
  const char* fd_text = env_value(envp, kRegionFdEnv);
  const char* index_text = env_value(envp, kRegionIndexEnv);
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
  drop_env(envp, kRegionFdEnv);
  drop_env(envp, kRegionIndexEnv);
  remember_preload(env_value(envp, "LD_PRELOAD"));
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
