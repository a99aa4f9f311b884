// Seeded randomness: what getrandom() returns and what /dev/urandom and /dev/random
// read come from the core's generator, seeded by the run's seed and the pid, so
// `random` without a seed, hash randomisation and key generation repeat too.
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <cerrno>
#include <optional>

#include "netsim/rng.hpp"
#include "shim.hpp"

namespace netsim::shim {
namespace {

std::optional<Rng> g_random;

bool is_random_device(const char* path) {
  return path && (!strcmp(path, "/dev/urandom") || !strcmp(path, "/dev/random"));
}

// The device's number is a placeholder, whose calls dispatch() routes here.
long open_random() { return reserve_fd(FdKind::random); }

}  // namespace

void seed_random(std::uint64_t seed) { g_random.emplace(seed); }

long random_bytes(void* out, long size) {
  g_random->fill(out, static_cast<std::size_t>(size));
  return size;
}

bool random_call(long nr, const long* a, long& r) {
  switch (nr) {
    case SYS_read:
    case SYS_pread64:
      r = random_bytes(reinterpret_cast<void*>(a[1]), a[2]);
      return true;
    case SYS_readv: {
      const auto* iov = reinterpret_cast<const struct iovec*>(a[1]);
      r = 0;
      for (long i = 0; i < a[2]; ++i) r += random_bytes(iov[i].iov_base, static_cast<long>(iov[i].iov_len));
      return true;
    }
    case SYS_close:
      release_fd(a[0]);
      r = 0;
      return true;
    default:
      return false;  // fstat, fcntl...: the placeholder answers, a character device too
  }
}

}  // namespace netsim::shim

// open() and fopen() of the random devices, as programs call them through libc; other
// paths go to libc's own functions.
namespace {

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool simulated(const char* path) {
  return netsim::shim::my_slot() && netsim::shim::is_random_device(path);
}

int open_mode(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

}  // namespace

#define NETSIM_WRAP_OPEN(name)                                                  \
  extern "C" int name(const char* path, int flags, ...) {                       \
    va_list ap;                                                                 \
    va_start(ap, flags);                                                        \
    const int mode = open_mode(flags, ap);                                      \
    va_end(ap);                                                                 \
    if (simulated(path)) return (int)netsim::shim::libc_result(netsim::shim::open_random()); \
    static auto real = next<int (*)(const char*, int, ...)>(#name);             \
    return real(path, flags, mode);                                             \
  }

#define NETSIM_WRAP_OPENAT(name)                                                \
  extern "C" int name(int dir, const char* path, int flags, ...) {              \
    va_list ap;                                                                 \
    va_start(ap, flags);                                                        \
    const int mode = open_mode(flags, ap);                                      \
    va_end(ap);                                                                 \
    if (simulated(path)) return (int)netsim::shim::libc_result(netsim::shim::open_random()); \
    static auto real = next<int (*)(int, const char*, int, ...)>(#name);        \
    return real(dir, path, flags, mode);                                        \
  }

#define NETSIM_WRAP_FOPEN(name)                                                 \
  extern "C" FILE* name(const char* path, const char* mode) {                   \
    if (simulated(path)) {                                                      \
      const long fd = netsim::shim::open_random();                              \
      if (fd < 0) {                                                             \
        errno = static_cast<int>(-fd);                                          \
        return nullptr;                                                         \
      }                                                                         \
      return fdopen(static_cast<int>(fd), mode);                                \
    }                                                                           \
    static auto real = next<FILE* (*)(const char*, const char*)>(#name);       \
    return real(path, mode);                                                    \
  }

NETSIM_WRAP_OPEN(open)
NETSIM_WRAP_OPEN(open64)
NETSIM_WRAP_OPENAT(openat)
NETSIM_WRAP_OPENAT(openat64)
NETSIM_WRAP_FOPEN(fopen)
NETSIM_WRAP_FOPEN(fopen64)
