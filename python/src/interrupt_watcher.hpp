#pragma once
// A Ctrl-C while Simulation.run() runs. Python runs signal handlers only on the main
// thread, between bytecodes, and that thread waits in the scheduler for the whole
// run: the handler would run only once the run is over. So the package points
// Python's wakeup fd (signal.set_wakeup_fd) at a pipe, and this watcher, a thread of
// its own, reads it while the run goes on: at SIGINT it asks the run to stop, and
// raises TaskCancelled in the Python tasks so that one computing without a call
// stops too.
#include <atomic>
#include <thread>

#include "netsim/simulation.hpp"

namespace netsim::python {

class InterruptWatcher {
 public:
  // Watches `wakeup_fd` (the read end of the wakeup pipe; -1: watch nothing) for as
  // long as it lives. Construct and destroy it without the GIL: it takes the GIL itself.
  InterruptWatcher(int wakeup_fd, Simulation& sim);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // A SIGINT came while it watched.
  bool fired() const { return fired_.load(); }

 private:
  void watch();
  void fire();

  int wakeup_fd_;
  int done_fd_ = -1;  // an eventfd: the run is over, stop watching
  Simulation& sim_;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

}  // namespace netsim::python
