#pragma once
// The parts of the netsim._core module, one function per file.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "netsim/config.hpp"

namespace netsim::python {

// simulation_binding.cpp: Simulation, TaskCancelled, DeadlockError, start_thread.
void bind_simulation(pybind11::module_& m);
// The Config of Python's keywords (policy "run-until-block" or "random"; raises
// ValueError for another), shared with run_commands.
Config make_config(std::uint64_t seed, const std::string& policy, std::optional<Nanos> epoch_ns);
// calls.cpp: the kernel calls of Python code in simulated tasks.
void bind_calls(pybind11::module_& m);
// runner_binding.cpp: run_commands, the engine of simrun (in a build with the shim).
void bind_runner(pybind11::module_& m);

}  // namespace netsim::python
