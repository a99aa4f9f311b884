#include "python_restarts.hpp"

#include <utility>

#include "python_task.hpp"

namespace netsim::python {

void PythonRestarts::remember(const Process& process, std::string program, py::object main) {
  programs_[process.pid()] = {std::move(program), std::move(main)};
}

void PythonRestarts::restart(const Process& dead) {
  const auto it = programs_.find(dead.pid());
  if (it == programs_.end()) return;
  // The scheduler calls this between tasks, on the thread that runs the simulation,
  // which holds no GIL meanwhile.
  py::gil_scoped_acquire gil;
  const Program program = it->second;
  Process& process = sim_.create_process(program.name, &dead.host());
  remember(process, program.name, program.main);
  add_python_task(sim_.kernel(), process, process.name(), program.main, /*staged=*/false);
}

}  // namespace netsim::python
