// Process groups and sessions, with Linux's rules for moving between them: a process
// moves itself or a child of its own, only within its session, and a session leader
// stays where it is.
#include <cerrno>

#include "netsim/kernel.hpp"

namespace netsim {

long Kernel::setpgid(Task& self, int pid, int pgid) {
  begin_call(self);
  Process& caller = self.process();
  if (pgid < 0) return -EINVAL;
  Process* target = pid == 0 ? &caller : find_process(pid);
  if (!target || target->exited() || (target != &caller && target->parent_ != caller.pid())) return -ESRCH;
  if (target->sid_ == target->pid() || target->sid_ != caller.sid_) return -EPERM;
  if (pgid == 0) pgid = target->pid();
  if (pgid != target->pid()) {
    bool exists = false;
    for (const auto& process : processes_)
      if (!process->exited() && process->pgid_ == pgid && process->sid_ == caller.sid_) exists = true;
    if (!exists) return -EPERM;
  }
  target->pgid_ = pgid;
  return 0;
}

long Kernel::getpgid(Task& self, int pid) {
  begin_call(self);
  const Process* target = pid == 0 ? &self.process() : find_process(pid);
  if (!target || (target->exited() && target->reaped_)) return -ESRCH;
  return target->pgid_;
}

long Kernel::setsid(Task& self) {
  begin_call(self);
  Process& caller = self.process();
  // A group leader cannot leave its group behind in another session.
  for (const auto& process : processes_)
    if (!process->exited() && process->pgid_ == caller.pid()) return -EPERM;
  caller.pgid_ = caller.sid_ = caller.pid();
  return caller.pid();
}

long Kernel::getsid(Task& self, int pid) {
  begin_call(self);
  const Process* target = pid == 0 ? &self.process() : find_process(pid);
  if (!target || (target->exited() && target->reaped_)) return -ESRCH;
  return target->sid_;
}

std::vector<Process*> Kernel::group_members(int pgid) const {
  std::vector<Process*> members;
  for (const auto& process : processes_)
    if (!process->exited() && process->pgid_ == pgid) members.push_back(process.get());
  return members;
}

}  // namespace netsim
