#pragma once
// The parts of the netsim._core module, one function per file.
#include <pybind11/pybind11.h>

namespace netsim::python {

// simulation_binding.cpp: Simulation, TaskCancelled, DeadlockError, start_thread.
void bind_simulation(pybind11::module_& m);
// calls.cpp: the kernel calls of Python code in simulated tasks.
void bind_calls(pybind11::module_& m);
// runner_binding.cpp: run_commands, the engine of simrun.
void bind_runner(pybind11::module_& m);

}  // namespace netsim::python
