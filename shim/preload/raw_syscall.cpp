// The shim's only system call instruction. Its entry point is hidden: a program cannot
// look it up (dlsym, ctypes), and one that jumps to the fixed address still meets the
// run's namespaces, which hold no network and no process outside the run. The seccomp filter lets through exactly
// the calls whose return address is the one after it, so everything else the process
// does (libc's internal calls, raw syscall()) traps into the shim. It lives on a page
// of its own at a fixed address, mapped by every image: the filter outlives an exec,
// and the next image's shim must pass it too, wherever the loader puts the library.
#include <string.h>
#include <sys/mman.h>

#include "shim.hpp"

// The gate's code and the trampoline netsim_raw_syscall that jumps to it: arch.hpp and
// arch.cpp.
namespace netsim::shim {

bool map_gate() {
  void* page = mmap(reinterpret_cast<void*>(kGateAddress), 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != reinterpret_cast<void*>(kGateAddress)) return false;
  memcpy(page, arch::kGateCode, sizeof arch::kGateCode);
  return mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0;
}

}  // namespace netsim::shim
