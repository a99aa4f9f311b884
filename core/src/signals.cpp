// Signals between simulated processes: whom kill(2) reaches (both front-ends), and
// Linux's default actions for a front-end whose processes cannot handle a signal.
#include <fmt/format.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cerrno>

#include "netsim/errors.hpp"
#include "netsim/kernel.hpp"

namespace netsim {
namespace {

enum class DefaultAction { terminate, ignore, stop, resume };

// signal(7)'s table. Core-dumping signals terminate: no core is written.
DefaultAction default_action(int signal) {
  switch (signal) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return DefaultAction::ignore;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return DefaultAction::stop;
    case SIGCONT: return DefaultAction::resume;
    default: return DefaultAction::terminate;
  }
}

void take_default_action(Kernel& kernel, Process& target, int signal) {
  switch (default_action(signal)) {
    case DefaultAction::ignore: break;
    case DefaultAction::stop: kernel.pause_process(target); break;
    case DefaultAction::resume: kernel.resume_process(target); break;
    case DefaultAction::terminate:
      if (!target.tasks().empty()) kernel.emit_notice(*target.tasks().front(), killed_line(signal));
      kernel.exit_process(target, 128 + signal, signal);
      break;
  }
}

}  // namespace

std::string killed_line(int signal) {
  // glibc names the standard signals only, not the real-time ones.
  const char* name = sigabbrev_np(signal);
  if (!name) return fmt::format("netsim: killed by signal {}\n", signal);
  return fmt::format("netsim: killed by SIG{} ({})\n", name, sigdescr_np(signal));
}

long Kernel::signal_targets(const Process& caller, int pid, int signal, int group,
                            std::vector<Process*>& out) const {
  out.clear();
  if (pid > 0) {
    Process* target = find_process(pid);
    if (const Task* thread = target ? nullptr : find_thread(pid)) target = &thread->process();
    if (target && (group <= 0 || target->pid() == group)) out.push_back(target);
  } else if (pid != -1) {
    out = group_members(pid == 0 ? caller.pgid() : -pid);
  }
  // Linux looks for the targets first: a bad signal to nobody is ESRCH.
  if (out.empty()) return -ESRCH;
  if (signal < 0 || signal >= NSIG) {
    out.clear();
    return -EINVAL;
  }
  return 0;
}

long Kernel::kill(Task& self, int pid, int signal, int group) {
  begin_call(self);
  std::vector<Process*> targets;
  if (const long r = signal_targets(self.process(), pid, signal, group, targets); r < 0 || signal == 0) return r;
  Process& caller = self.process();
  for (Process* target : targets) {
    if (target->exited()) continue;
    Event& event = trace_.record(EventKind::kill, clock_.elapsed());
    event.pid = target->pid();
    event.value = signal;
    if (target == &caller) continue;
    // Another process takes it once the caller's turn is over, as a shimmed process
    // takes a signal at its next call, when it next runs.
    scheduler_.call_at(clock_.elapsed(), [this, target, signal] {
      if (!target->exited()) take_default_action(*this, *target, signal);
    });
  }
  if (std::find(targets.begin(), targets.end(), &caller) == targets.end() || caller.exited()) return 0;
  take_default_action(*this, caller, signal);
  if (caller.exited()) throw TaskCancelled{};
  return 0;
}

}  // namespace netsim
