// eventfd() and eventfd2(): the shim's side. An eventfd is a simulated descriptor,
// marked as a socket, so read, write, close, dup, fcntl and every readiness call on
// it take the socket's routes (net.cpp, poll.cpp), and the simulator, which keeps the
// counter (core/src/eventfd.cpp), blocks and wakes its readers and writers.
//
//   SYS_eventfd2  initval, flags, at (the placeholder's number)  -> at
#include <fcntl.h>
#include <sys/eventfd.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {

bool eventfd_call(long nr, const long* a, long& r) {
  if (nr != SYS_eventfd && nr != SYS_eventfd2) return false;
  const long flags = nr == SYS_eventfd2 ? a[1] : 0;
  if (flags & ~static_cast<long>(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) {
    r = -EINVAL;
    return true;
  }
  const long fd = reserve_fd(FdKind::socket);
  if (fd < 0) {
    r = fd;
    return true;
  }
  raw(SYS_fcntl, fd, F_SETFD, flags & EFD_CLOEXEC ? FD_CLOEXEC : 0);
  r = forward(SYS_eventfd2, static_cast<unsigned>(a[0]), flags, fd);
  if (r < 0) release_fd(fd);
  return true;
}

}  // namespace netsim::shim
