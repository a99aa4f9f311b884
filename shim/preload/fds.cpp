// Which real descriptors stand for simulated objects. Only one simulated thread runs
// at a time, so the table needs no lock.
#include <fcntl.h>
#include <linux/close_range.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {
namespace {

constexpr long kMaxFds = 65536;
FdKind g_kinds[kMaxFds];

}  // namespace

FdKind fd_kind(long fd) { return fd >= 0 && fd < kMaxFds ? g_kinds[fd] : FdKind::none; }

long reserve_fd(FdKind kind, long at) {
  // A placeholder on /dev/null holds the number, so the process's own open() never
  // gets it; close-on-exec, as the simulated object does not survive an exec.
  const long tmp = raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"),
                       O_RDWR | O_CLOEXEC);
  if (tmp < 0) return tmp;
  const long fd = at >= 0 ? raw(SYS_dup3, tmp, at, O_CLOEXEC)
                          : raw(SYS_fcntl, tmp, F_DUPFD_CLOEXEC, kFirstSimulatedFd);
  raw(SYS_close, tmp);
  if (fd < 0) return fd;
  if (fd >= kMaxFds) {
    raw(SYS_close, fd);
    return -EMFILE;
  }
  g_kinds[fd] = kind;
  return fd;
}

void adopt_fd(long fd, FdKind kind) {
  if (fd >= 0 && fd < kMaxFds) g_kinds[fd] = kind;
}

void release_fd(long fd) {
  if (fd_kind(fd) == FdKind::none) return;
  g_kinds[fd] = FdKind::none;
  raw(SYS_close, fd);
}

long close_range_call(const long* a) {
  const unsigned long first = static_cast<unsigned long>(a[0]);
  const unsigned long last = static_cast<unsigned long>(a[1]);
  if (first > last) return -EINVAL;
  if (!(a[2] & CLOSE_RANGE_CLOEXEC)) {
    for (unsigned long fd = first; fd <= last && fd < kMaxFds; ++fd) {
      if (g_kinds[fd] == FdKind::none) continue;
      const long args[6] = {static_cast<long>(fd)};
      dispatch(SYS_close, args);
    }
  }
  const unsigned long skip = static_cast<unsigned long>(pool_fd());
  if (skip < first || skip > last) return raw(SYS_close_range, a[0], a[1], a[2]);
  long r = 0;
  if (skip > first) r = raw(SYS_close_range, a[0], static_cast<long>(skip - 1), a[2]);
  if (r == 0 && skip < last) r = raw(SYS_close_range, static_cast<long>(skip + 1), a[1], a[2]);
  return r;
}

}  // namespace netsim::shim
