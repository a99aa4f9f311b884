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
// Below kLoaderFds, the descriptors an exec under way took the close-on-exec flag off
// (plug_low_fds), to put back if it fails.
std::uint64_t g_cloexec[kLoaderFds / 64];

}  // namespace

FdKind fd_kind(long fd) { return fd >= 0 && fd < kMaxFds ? g_kinds[fd] : FdKind::none; }

long lowest_free_fd(long floor) {
  const long fd = raw(SYS_fcntl, pool_fd(), F_DUPFD_CLOEXEC, floor);
  if (fd < kLoaderFds || fd >= kShimFds) return fd;
  // In the loader's window, where the trap would not see calls on it.
  raw(SYS_close, fd);
  return raw(SYS_fcntl, pool_fd(), F_DUPFD_CLOEXEC, kShimFds);
}

long reserve_fd(FdKind kind, long at) {
  // A placeholder on /dev/null holds the number, so the process's own open() never
  // gets it; close-on-exec, as the simulated object does not survive an exec.
  const long tmp = raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"),
                       O_RDWR | O_CLOEXEC);
  if (tmp < 0) return tmp;
  long fd = at >= 0 ? raw(SYS_dup3, tmp, at, O_CLOEXEC) : tmp;
  if (at < 0 && tmp >= kLoaderFds && tmp < kShimFds) fd = raw(SYS_fcntl, tmp, F_DUPFD_CLOEXEC, kShimFds);
  if (fd != tmp) raw(SYS_close, tmp);
  if (fd < 0) return fd;
  if (fd >= kMaxFds) {
    raw(SYS_close, fd);
    return -EMFILE;
  }
  g_kinds[fd] = kind;
  return fd;
}

void plug_low_fds() {
  std::uint64_t* closes = region().exec_closes;
  // A vfork child's exec ran in this memory: its marks are not this image's.
  for (int i = 0; i < kLoaderFds / 64; ++i) g_cloexec[i] = 0;
  // The first plug; the others are its duplicates.
  const long null = raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"), O_RDONLY);
  if (null < 0) return;
  for (long fd = 3; fd < kLoaderFds; ++fd) {
    const std::uint64_t bit = 1ULL << (fd % 64);
    if (fd == null) {
      closes[fd / 64] |= bit;
      continue;
    }
    const long flags = raw(SYS_fcntl, fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) continue;  // the program's, kept by exec
    // Free, or freed by the exec itself (close-on-exec) before the loader runs: a
    // plug holds it, and the new image's shim closes it, as if exec had.
    if (flags >= 0) {
      raw(SYS_fcntl, fd, F_SETFD, flags & ~FD_CLOEXEC);
      g_cloexec[fd / 64] |= bit;
    } else if (raw(SYS_dup3, null, fd, 0) != fd) {
      continue;
    }
    closes[fd / 64] |= bit;
  }
  if (null >= kLoaderFds) raw(SYS_close, null);
}

void unplug_low_fds(bool exec_failed) {
  std::uint64_t* closes = region().exec_closes;
  for (long fd = 3; fd < kLoaderFds; ++fd) {
    const std::uint64_t bit = 1ULL << (fd % 64);
    if (!(closes[fd / 64] & bit)) continue;
    if (exec_failed && (g_cloexec[fd / 64] & bit))
      raw(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
    else
      raw(SYS_close, fd);
  }
  for (int i = 0; i < kLoaderFds / 64; ++i) closes[i] = g_cloexec[i] = 0;
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
