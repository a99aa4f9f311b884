// Process trees, served on the calling thread's task: fork (a simulated child with
// its own region and main task, before the real fork), exec (a new image takes over
// the process), waiting for children, process groups, signals between simulated
// processes (SIGCHLD among them), and eventfd, whose descriptor is the core's.
//
// Per call ("->" is the reply):
//   kCallFork, kCallForked, kCallExec: as channel.hpp says.
//   SYS_wait4  pid (-1: any child), nohang
//              -> the child's virtual pid, or 0; args[1]: its status as waitpid
//              reports it; args[2]: its real pid, for the shim to reap the zombie
//   SYS_kill   virtual pid or thread id (> 0), or 0 (the caller's group), or -pgid,
//              signal, the process a thread id must be in (tgkill's tgid; 0: any) -> 0
//   SYS_setpgid pid, pgid -> 0;  SYS_getpgid pid -> pgid;  SYS_setsid -> sid;
//   SYS_getsid pid -> sid (pid 0: the caller, as Linux)
//   SYS_eventfd2 initval, flags, at                                  -> at
//   SYS_alarm, SYS_setitimer, SYS_getitimer, SYS_timer_*, SYS_timerfd_*: as shim/preload/timers.cpp says
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>

#include "proc.hpp"
#include "runner.hpp"

namespace netsim::shim {
namespace {

// A live process's real parent, from /proc/PID/stat (its 4th field); -1 when gone.
pid_t real_parent(pid_t pid) {
  const std::string stat = read_proc(fmt::format("/proc/{}/stat", pid));
  const std::optional<std::string_view> field = stat_field(stat, 4);
  pid_t ppid = -1;
  if (!field || std::from_chars(field->data(), field->data() + field->size(), ppid).ec != std::errc()) return -1;
  return ppid;
}

}  // namespace

bool Runner::serve_process(RemoteProcess& remote, int index, Task& self, Slot& slot, long& result) {
  Kernel& kernel = simulation_.kernel();
  const auto* args = slot.args;
  switch (slot.call) {
    case kCallFork:
      result = fork(remote, self, slot);
      return true;
    case kCallForked:
      result = forked(remote, args);
      return true;
    case kCallExec:
      result = exec(remote, index, slot);
      return true;
    case SYS_wait4: {
      // Waiting for a group (pid 0 or < -1) waits for any child: a limit.
      const int pid = args[0] > 0 ? static_cast<int>(args[0]) : -1;
      int status = 0;
      result = kernel.wait_child(self, pid, args[1] != 0, &status);
      if (result > 0) {
        const RemoteProcess* child = find_remote(static_cast<int>(result));
        slot.args[1] = status;
        slot.args[2] = child ? child->child.ns_pid : 0;
      }
      return true;
    }
    case SYS_kill:
      result = kill(remote, slot, static_cast<int>(args[0]), static_cast<int>(args[1]), static_cast<int>(args[2]));
      return true;
    case SYS_setpgid:
      result = kernel.setpgid(self, static_cast<int>(args[0]), static_cast<int>(args[1]));
      return true;
    case SYS_getpgid:
      result = kernel.getpgid(self, static_cast<int>(args[0]));
      return true;
    case SYS_setsid:
      result = kernel.setsid(self);
      return true;
    case SYS_getsid:
      result = kernel.getsid(self, static_cast<int>(args[0]));
      return true;
    case SYS_eventfd2:
      result = kernel.eventfd(self, static_cast<unsigned>(args[0]), static_cast<int>(args[1]),
                              static_cast<int>(args[2]));
      return true;
    case SYS_alarm:
      result = kernel.alarm(self, static_cast<unsigned>(args[0]));
      return true;
    case SYS_setitimer:
    case SYS_getitimer:
    case SYS_timerfd_settime:
    case SYS_timerfd_gettime:
    case SYS_timer_settime:
    case SYS_timer_gettime:
      result = timer_call(self, slot);
      return true;
    case SYS_timer_create:
      result = kernel.timer_create(self, static_cast<int>(args[0]), static_cast<int>(args[1]));
      return true;
    case SYS_timer_getoverrun:
      result = kernel.timer_getoverrun(self, static_cast<int>(args[0]));
      return true;
    case SYS_timer_delete:
      result = kernel.timer_delete(self, static_cast<int>(args[0]));
      return true;
    case SYS_timerfd_create:
      result = kernel.timerfd_create(self, static_cast<int>(args[0]), static_cast<int>(args[1]),
                                     static_cast<int>(args[2]));
      return true;
    default:
      return false;
  }
}

long Runner::timer_call(Task& self, Slot& slot) {
  Kernel& kernel = simulation_.kernel();
  const auto* args = slot.args;
  Kernel::TimerValue value;
  long result = 0;
  switch (slot.call) {
    case SYS_setitimer: result = kernel.setitimer(self, static_cast<int>(args[2]), {args[0], args[1]}, &value); break;
    case SYS_getitimer: result = kernel.getitimer(self, static_cast<int>(args[0]), &value); break;
    case SYS_timer_settime:
      result = kernel.timer_settime(self, static_cast<int>(args[0]), static_cast<int>(args[1]),
                                    {args[2], args[3]}, &value);
      break;
    case SYS_timer_gettime: result = kernel.timer_gettime(self, static_cast<int>(args[0]), &value); break;
    case SYS_timerfd_settime:
      result = kernel.timerfd_settime(self, static_cast<int>(args[0]), static_cast<int>(args[1]),
                                      {args[2], args[3]}, &value);
      break;
    default: result = kernel.timerfd_gettime(self, static_cast<int>(args[0]), &value); break;
  }
  slot.args[1] = value.value;
  slot.args[2] = value.interval;
  return result;
}

long Runner::fork(RemoteProcess& parent, Task& self, Slot& slot) {
  const int index = claim_region();
  if (index < 0) {
    simulation_.kernel().emit_output(
        self, 2,
        fmt::format("netsim: {} (pid {}) cannot fork: no room for another process ({} at once is simrun's "
                    "limit, or the shim's shared memory could not grow)\n",
                    parent.process->name(), parent.process->pid(), kMaxProcesses));
    return -EAGAIN;
  }
  Process& process = simulation_.fork_process(*parent.process, parent.base_name);
  fill_region(index, process, false);
  regions_[index]->sigchld = parent.region->sigchld;
  auto remote = std::make_unique<RemoteProcess>();
  remote->process = &process;
  remote->base_name = parent.base_name;
  remote->region_index = index;
  remote->region = regions_[index];
  remote->child.forked = true;
  RemoteProcess& added = *remote;
  processes_.push_back(std::move(remote));
  add_thread(added, 0, false);
  slot.args[1] = process.pid();
  return index;
}

long Runner::forked(const RemoteProcess& parent, const std::int64_t* args) {
  RemoteProcess* child = nullptr;
  for (auto& remote : processes_)
    if (remote->region_index == args[0] && remote->child.forked && remote->child.pidfd < 0) child = remote.get();
  if (!child) return -EINVAL;
  if (args[1] > 0 && args[1] <= INT_MAX) {
    // The parent's pid for its child is its PID namespace's: the pidfd it opened,
    // taken from it, names the child in simrun's too.
    const int pidfd = parent.child.pidfd >= 0 && args[2] >= 0 && args[2] <= INT_MAX
                          ? static_cast<int>(syscall(SYS_pidfd_getfd, parent.child.pidfd, args[2], 0))
                          : static_cast<int>(syscall(SYS_pidfd_open, args[1], 0));
    const pid_t pid = pidfd >= 0 ? pid_of(pidfd) : -1;
    // The pidfd is the caller's word, and simrun signals what it names: it must be a
    // real child of the caller's, never another program's process. Alive after the
    // look at its parent, so the pid read there was not reused.
    pollfd alive = {pidfd, POLLIN, 0};
    if (pid > 0 && real_parent(pid) == parent.child.pid && ::poll(&alive, 1, 0) == 0) {
      child->child.pid = pid;
      child->child.ns_pid = static_cast<pid_t>(args[1]);
      child->child.pidfd = pidfd;
      return 0;
    }
    if (pidfd >= 0) close(pidfd);
  }
  // The real fork failed (or made no child of the caller's): the child never runs.
  kill_now(*child);
  simulation_.kernel().exit_process(*child->process, *child->reaped_status, child->reaped_signal);
  return args[1] < 0 ? 0 : -ESRCH;
}

long Runner::exec(RemoteProcess& remote, int index, Slot& slot) {
  if (index != 0) return -EINVAL;
  // exec leaves the calling thread alone in the process.
  for (std::size_t i = 1; i < remote.threads.size(); ++i) {
    if (Task* task = std::exchange(remote.threads[i], nullptr)) simulation_.kernel().scheduler().cancel(*task);
    remote.region->slots[i].state.store(static_cast<std::uint32_t>(SlotState::idle), std::memory_order_relaxed);
  }
  // exec puts caught signals back to their default.
  remote.region->sigchld = 0;
  simulation_.kernel().exec_timers(*remote.process);
  const std::vector<int> fds = simulation_.kernel().fds_of(*remote.process);
  const std::size_t count = std::min(fds.size(), kSlotBuffer / sizeof(std::int32_t));
  for (std::size_t i = 0; i < count; ++i) {
    const std::int32_t fd = fds[i];
    std::memcpy(slot.buffer + i * sizeof fd, &fd, sizeof fd);
  }
  slot.size = count * sizeof(std::int32_t);
  return static_cast<long>(count);
}

long Runner::kill(RemoteProcess& caller, Slot& slot, int pid, int signal, int group) {
  std::vector<Process*> targets;
  const long r = simulation_.kernel().signal_targets(*caller.process, pid, signal, group, targets);
  if (r < 0 || signal == 0) return r;
  for (Process* target : targets) {
    RemoteProcess* remote = find_remote(target->pid());
    // To the caller (its group, or one of its threads the shim does not know yet): at
    // this call's reply.
    if (remote == &caller) {
      slot.signal = static_cast<std::uint32_t>(signal);
    } else if (remote && !remote->process->exited()) {
      deliver(*remote, signal);
    }
  }
  return 0;
}

void Runner::deliver(RemoteProcess& target, int signal) {
  Kernel& kernel = simulation_.kernel();
  Event& event = kernel.trace().record(EventKind::kill, kernel.clock().elapsed());
  event.pid = target.process->pid();
  event.value = signal;
  if (signal == SIGKILL) {
    // Nothing to deliver at a call: the process ends now, in simulated order.
    kill_now(target);
    end(target, *target.reaped_status, target.reaped_signal);
    return;
  }
  // As the end of a run stops a process (Runner::stop): raised by its main thread at
  // the call it is blocked in, or at its next one.
  for (Task* task : target.process->tasks()) {
    if (task->state() == TaskState::done) continue;
    target.signal = signal;
    kernel.scheduler().interrupt(*task);
    break;
  }
}

void Runner::end(RemoteProcess& remote, int status, int signal) {
  Kernel& kernel = simulation_.kernel();
  if (remote.process->exited()) return;
  // A death by a signal gets a line, as a shell reports it of a job ("Segmentation
  // fault"); not the end of the run's own stops, an offender's (its line says why), nor
  // the kills of an aborted run.
  if (signal && !remote.stopped_by && !remote.offender && !aborting_ && !remote.process->tasks().empty())
    kernel.emit_output(*remote.process->tasks().front(), 2,
                       killed_line(signal));
  kernel.exit_process(*remote.process, status, signal);
  RemoteProcess* parent = find_remote(remote.process->parent());
  if (!parent || parent->process->exited() || !(parent->region->sigchld & kSigchldHandled)) return;
  const Task* main = nullptr;
  for (const Task* task : parent->process->tasks())
    if (!main && task->state() != TaskState::done) main = task;
  // A parent blocked in a call the exit does not end (a sleep, a read) has it
  // interrupted, unless SA_RESTART would restart it. Otherwise (it was waiting for
  // this very exit, say) the call ends as it would have, and its reply raises SIGCHLD:
  // the handler runs before the program goes on, as after a signal that arrived
  // just as the call returned.
  if (main && main->state() == TaskState::blocked && !(parent->region->sigchld & kSigchldRestart)) {
    deliver(*parent, SIGCHLD);
  } else {
    Event& event = kernel.trace().record(EventKind::kill, kernel.clock().elapsed());
    event.pid = parent->process->pid();
    event.value = SIGCHLD;
    parent->pending = SIGCHLD;
  }
}

}  // namespace netsim::shim
