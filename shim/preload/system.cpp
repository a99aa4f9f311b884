// The simulated machine (the core's system_facts, carried in the region): uname(),
// and so gethostname(); the CPUs sched_getaffinity(), get_nprocs() and sysconf()
// count. The real host's answers would make a program's output depend on it.
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "shim.hpp"

namespace netsim::shim {

bool system_call(long nr, const long* a, long& r) {
  switch (nr) {
    case SYS_uname:
      memcpy(reinterpret_cast<struct utsname*>(a[0]), &region().system, sizeof(struct utsname));
      r = 0;
      return true;
    case SYS_sched_getaffinity: {
      // The kernel's mask is whole longs, and refuses a buffer that cannot hold it.
      const unsigned long size = static_cast<unsigned long>(a[1]);
      if (size < sizeof(unsigned long) || size % sizeof(unsigned long)) {
        r = -EINVAL;
        return true;
      }
      const unsigned long mask = (1UL << region().cpus) - 1;
      memcpy(reinterpret_cast<void*>(a[2]), &mask, sizeof mask);
      r = sizeof mask;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace netsim::shim

// glibc counts CPUs from /sys and /proc files, which no call the shim sees reads.
extern "C" {

int get_nprocs() { return static_cast<int>(netsim::shim::region().cpus); }
int get_nprocs_conf() { return static_cast<int>(netsim::shim::region().cpus); }

long sysconf(int name) {
  if (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF)
    return static_cast<long>(netsim::shim::region().cpus);
  using Sysconf = long (*)(int);
  static const auto real = reinterpret_cast<Sysconf>(dlsym(RTLD_NEXT, "sysconf"));
  return real(name);
}

}  // extern "C"
