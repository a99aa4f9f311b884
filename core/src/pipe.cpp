// pipe2(2): Linux's pipes as one-way stream socket pairs. The shim's pipe2 and
// Python's os.pipe in a simulated task both come here.
#include <sys/socket.h>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

long Kernel::pipe(Task& self, int flags, int fds[2]) {
  Process& process = self.process();
  if (fds[0] < 0) fds[0] = lowest_free_fd(process, fds[1]);
  if (fds[1] < 0) fds[1] = lowest_free_fd(process, fds[0]);
  const long r = socketpair(self, SOCK_STREAM | flags, fds[0], fds[1]);
  if (r < 0) return r;
  shutdown(self, fds[0], SHUT_WR);
  shutdown(self, fds[1], SHUT_RD);
  process.fds_.at(fds[0])->pipe = true;
  process.fds_.at(fds[1])->pipe = true;
  return 0;
}

}  // namespace netsim
