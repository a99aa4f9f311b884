#include "python_task.hpp"

#include <memory>

#include "netsim/thread_task.hpp"

namespace netsim::python {

TaskContext& current() {
  thread_local TaskContext context;
  return context;
}

namespace {

void run(Kernel& kernel, Task& self, py::object& main) {
  current() = {&kernel, &self};
  int status = 0;
  {
    py::gil_scoped_acquire gil;
    try {
      status = main().cast<int>();
    } catch (py::error_already_set& e) {
      // The package's task wrapper reports every other exception itself; what gets
      // here is the stop of the task, or a failure of that wrapper.
      const bool cancelled = e.matches(task_cancelled_type());
      if (!cancelled) e.discard_as_unraisable("netsim task");
      status = cancelled ? kKilledStatus : 1;
    }
    main = py::object();  // drop the reference while the GIL is held
  }
  Process& process = self.process();
  if (&self == process.tasks().front()) kernel.exit_process(process, status);
}

}  // namespace

int add_python_task(Kernel& kernel, Process& process, std::string name, py::object main,
                    bool staged) {
  auto holder = std::make_shared<py::object>(std::move(main));
  auto task = std::make_unique<ThreadTask>(
      kernel.next_task_id(), process, std::move(name),
      [&kernel, holder](Task& self) { run(kernel, self, *holder); });
  return kernel.add_task(std::move(task), staged).id();
}

}  // namespace netsim::python
