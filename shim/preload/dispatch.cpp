// Where every intercepted call is routed: the runtime's own calls first, then by
// descriptor (simulated one, random device, standard stream, or a real file).
#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {
namespace {

bool is_socket_call(long nr) {
  switch (nr) {
    case SYS_socket: case SYS_socketpair: case SYS_bind: case SYS_listen: case SYS_accept:
    case SYS_accept4: case SYS_connect: case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg:
    case SYS_recvmsg: case SYS_sendmmsg: case SYS_recvmmsg: case SYS_shutdown:
    case SYS_getsockname: case SYS_getpeername: case SYS_setsockopt: case SYS_getsockopt:
    case SYS_pipe: case SYS_pipe2:
      return true;
    default:
      return false;
  }
}

bool is_poll_call(long nr) {
  switch (nr) {
    case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6: case SYS_epoll_create:
    case SYS_epoll_create1: case SYS_epoll_ctl: case SYS_epoll_wait: case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      return true;
    default:
      return false;
  }
}

// Calls whose first argument is a descriptor, which may be a simulated one.
bool is_fd_call(long nr) {
  switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_pread64:
    case SYS_pwrite64: case SYS_preadv: case SYS_pwritev: case SYS_close: case SYS_dup:
    case SYS_dup2: case SYS_dup3: case SYS_fcntl: case SYS_ioctl: case SYS_fstat:
    case SYS_newfstatat: case SYS_statx: case SYS_sendfile:
      return true;
    default:
      return false;
  }
}

long native(long nr, const long* a) { return raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]); }

}  // namespace

long libc_result(long r) {
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

long dispatch(long nr, const long* a) {
  long r = 0;
  if (system_call(nr, a, r) || process_call(nr, a, r) || time_call(nr, a, r) || thread_call(nr, a, r) ||
      timer_call(nr, a, r))
    return r;
  // A thread outside the simulation (not started by pthread_create under the shim, or
  // past its end) has no slot to call through: its calls are made for real, except
  // those on the virtual network or its sockets, which fail (a close still frees the
  // number).
  if (!my_slot()) {
    if (is_socket_call(nr)) return -ENOSYS;
    if (is_fd_call(nr) && is_simulated(a[0])) {
      if (nr != SYS_close) return -ENOSYS;
      release_fd(a[0]);
      return 0;
    }
    return native(nr, a);
  }
  if (path_call(nr, a, r)) return r;
  if (is_fd_call(nr)) {
    // The pool's descriptor must survive a program that closes all it does not know.
    if (nr == SYS_close && a[0] == pool_fd()) return 0;
    const bool onto_simulated = (nr == SYS_dup2 || nr == SYS_dup3) && fd_kind(a[1]) != FdKind::none;
    const FdKind kind = fd_kind(a[0]);
    if (kind == FdKind::random && random_call(nr, a, r)) return r;
    if ((kind == FdKind::socket || onto_simulated) && net_call(nr, a, r)) return r;
    if (output_call(nr, a, r)) return r;
    return native(nr, a);
  }
  if (is_socket_call(nr)) return net_call(nr, a, r) ? r : -ENOTSOCK;
  if (is_poll_call(nr) && poll_call(nr, a, r)) return r;
  if (eventfd_call(nr, a, r)) return r;
  return native(nr, a);
}

}  // namespace netsim::shim
