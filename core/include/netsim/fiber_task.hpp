#pragma once
// Tasks of C++ code: each runs on its own Boost.Context fiber, and switching between
// the scheduler and a task is a stack switch in the same OS thread.
#include <boost/context/fiber.hpp>
#include <functional>

#include "netsim/kernel.hpp"
#include "netsim/sys.hpp"
#include "netsim/task.hpp"

namespace netsim {

class FiberTask final : public Task {
 public:
  // body runs on the fiber; it is skipped when the task is stopped before it starts.
  FiberTask(int id, Process& process, std::string name, std::function<void(Task&)> body);

  void resume() override;
  void suspend() override;

 private:
  boost::context::fiber fiber_;   // the task's context, while the scheduler runs
  boost::context::fiber caller_;  // the scheduler's context, while the task runs
};

// Runs a C++ task's body with a Sys for it. An uncaught exception is reported on the
// process's stderr and ends the process with status 1; the end of the process's
// first task ends the process, as returning from main() does.
void run_task_body(Kernel& kernel, Task& task, const TaskFn& body);

}  // namespace netsim
