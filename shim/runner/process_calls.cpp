// Process trees, served on the calling thread's task: fork (a simulated child with
// its own region and main task, before the real fork), exec (a new image takes over
// the process), waiting for children, and signals between simulated processes.
//
// Per call ("->" is the reply):
//   kCallFork, kCallForked, kCallExec: as channel.hpp says.
//   SYS_wait4  pid (-1: any child), nohang
//              -> the child's virtual pid, or 0; args[1]: its status as waitpid
//              reports it; args[2]: its real pid, for the shim to reap the zombie
//   SYS_kill   virtual pid (> 0), signal                            -> 0
#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "runner.hpp"

namespace netsim::shim {

bool Runner::serve_process(RemoteProcess& remote, int index, Task& self, Slot& slot, long& result) {
  Kernel& kernel = simulation_.kernel();
  const auto* args = slot.args;
  switch (slot.call) {
    case kCallFork:
      result = fork(remote, slot);
      return true;
    case kCallForked:
      result = forked(args);
      return true;
    case kCallExec:
      result = exec(remote, index, slot);
      return true;
    case SYS_wait4: {
      // Process groups are not simulated: every child belongs to its parent's.
      const int pid = args[0] > 0 ? static_cast<int>(args[0]) : -1;
      int status = 0;
      result = kernel.wait_child(self, pid, args[1] != 0, &status);
      if (result > 0) {
        const RemoteProcess* child = find_remote(static_cast<int>(result));
        slot.args[1] = status;
        slot.args[2] = child ? child->child.pid : 0;
      }
      return true;
    }
    case SYS_kill:
      result = kill(static_cast<int>(args[0]), static_cast<int>(args[1]));
      return true;
    default:
      return false;
  }
}

long Runner::fork(RemoteProcess& parent, Slot& slot) {
  const int index = claim_region();
  if (index < 0) return -EAGAIN;
  Process& process = simulation_.fork_process(*parent.process, parent.base_name);
  fill_region(index, process, parent.process->pid(), false);
  auto remote = std::make_unique<RemoteProcess>();
  remote->process = &process;
  remote->base_name = parent.base_name;
  remote->region_index = index;
  remote->region = &pool_[index];
  remote->child.forked = true;
  RemoteProcess& added = *remote;
  processes_.push_back(std::move(remote));
  add_thread(added, 0, false);
  slot.args[1] = process.pid();
  return index;
}

long Runner::forked(const std::int64_t* args) {
  RemoteProcess* child = nullptr;
  for (auto& remote : processes_)
    if (remote->region_index == args[0] && remote->child.forked && remote->child.pidfd < 0) child = remote.get();
  if (!child) return -EINVAL;
  if (args[1] < 0) {
    // The real fork failed: the child never runs.
    kill_now(*child);
    simulation_.kernel().exit_process(*child->process, *child->reaped_status, child->reaped_signal);
    return 0;
  }
  child->child.pid = static_cast<pid_t>(args[1]);
  child->child.pidfd = static_cast<int>(syscall(SYS_pidfd_open, child->child.pid, 0));
  return 0;
}

long Runner::exec(RemoteProcess& remote, int index, Slot& slot) {
  if (index != 0) return -EINVAL;
  // exec leaves the calling thread alone in the process.
  for (int i = 1; i < kMaxThreads; ++i) {
    if (Task* task = std::exchange(remote.threads[i], nullptr)) simulation_.kernel().scheduler().cancel(*task);
    remote.region->slots[i].state.store(static_cast<std::uint32_t>(SlotState::idle), std::memory_order_relaxed);
  }
  const std::vector<int> fds = simulation_.kernel().fds_of(*remote.process);
  const std::size_t count = std::min(fds.size(), kSlotBuffer / sizeof(std::int32_t));
  for (std::size_t i = 0; i < count; ++i) {
    const std::int32_t fd = fds[i];
    std::memcpy(slot.buffer + i * sizeof fd, &fd, sizeof fd);
  }
  slot.size = count * sizeof(std::int32_t);
  return static_cast<long>(count);
}

long Runner::kill(int pid, int signal) {
  RemoteProcess* target = find_remote(pid < -1 ? -pid : pid);
  if (!target || pid == 0 || pid == -1) return -ESRCH;
  if (signal < 0 || signal >= NSIG) return -EINVAL;
  if (target->process->exited() || signal == 0) return 0;
  Kernel& kernel = simulation_.kernel();
  Event& event = kernel.trace().record(EventKind::kill, kernel.clock().elapsed());
  event.pid = target->process->pid();
  event.value = signal;
  if (signal == SIGKILL) {
    // Nothing to deliver at a call: the process ends now, in simulated order.
    kill_now(*target);
    kernel.exit_process(*target->process, *target->reaped_status, target->reaped_signal);
    return 0;
  }
  // As the end of a run stops a process (Runner::stop): raised by its main thread at
  // the call it is blocked in, or at its next one.
  for (Task* task : target->process->tasks()) {
    if (task->state() == TaskState::done) continue;
    target->signal = signal;
    kernel.scheduler().interrupt(*task);
    break;
  }
  return 0;
}

}  // namespace netsim::shim
