// Where every intercepted call is routed (calls.hpp says which is which): the
// runtime's own calls first, then by descriptor (simulated one, random device,
// standard stream, or a real file).
#include <cerrno>

#include "calls.hpp"
#include "shim.hpp"

namespace netsim::shim {
namespace {

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
    if (routed(nr, Route::socket)) return -ENOSYS;
    if (routed(nr, Route::fd) && is_simulated(a[0])) {
      if (nr != SYS_close) return -ENOSYS;
      release_fd(a[0]);
      return 0;
    }
    return native(nr, a);
  }
  if (path_call(nr, a, r)) return r;
  if (routed(nr, Route::fd)) {
    // The pool's descriptor must survive a program that closes all it does not know.
    if (nr == SYS_close && a[0] == pool_fd()) return 0;
    const bool onto_simulated = (nr == SYS_dup2 || nr == SYS_dup3) && fd_kind(a[1]) != FdKind::none;
    const FdKind kind = fd_kind(a[0]);
    if (kind == FdKind::random && random_call(nr, a, r)) return r;
    if ((kind == FdKind::socket || onto_simulated) && net_call(nr, a, r)) return r;
    if (output_call(nr, a, r)) return r;
    return native(nr, a);
  }
  if (routed(nr, Route::socket)) return net_call(nr, a, r) ? r : -ENOTSOCK;
  if (routed(nr, Route::poll) && poll_call(nr, a, r)) return r;
  if (eventfd_call(nr, a, r)) return r;
  return native(nr, a);
}

}  // namespace netsim::shim
