// The faults that act on a program (scenario.hpp: kill, restart), done to its real
// child. The kernel has done its part first: the process has exited by SIGKILL, its
// descriptors are closed and its ports free, its tasks cancelled.
#include <signal.h>

#include "runner.hpp"

namespace netsim::shim {

void Runner::killed(Process& process) {
  RemoteProcess* remote = find_remote(process.pid());
  if (!remote) return;
  kill_now(*remote);
}

void Runner::restart(const Process& dead) {
  const RemoteProcess* remote = find_remote(dead.pid());
  // A forked process is its parent's to start again, not the run's.
  if (!remote || !remote->command || aborting_) return;
  start(*remote->command, /*staged=*/false);
}

}  // namespace netsim::shim
