#pragma once
// What a fault (scenario.hpp: kill, pause, resume, restart) does to a process beyond
// the simulated kernel. The kernel does its own part first, for every kind of task:
// a killed process has exited by SIGKILL (descriptors closed, ports free), a paused
// one's tasks are no longer scheduled. A front-end whose processes are real (simrun's
// runner) overrides these to SIGKILL, SIGSTOP or SIGCONT the real child and to start
// the command again; Simulation's default restarts its own fiber processes.
namespace netsim {

class Process;

class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // The kernel has ended `process` (exit_signal() is SIGKILL).
  virtual void killed(Process& process) { (void)process; }
  // Its tasks stopped being scheduled / are scheduled again.
  virtual void paused(Process& process) { (void)process; }
  virtual void resumed(Process& process) { (void)process; }
  // Starts the program `dead` ran again: a new process of the same name (made
  // unique) on the same host, started at once. Called restart_after its kill.
  virtual void restart(const Process& dead) = 0;
};

}  // namespace netsim
