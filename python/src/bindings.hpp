#pragma once
// The parts of the netsim._core module, one function per file.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "netsim/address.hpp"
#include "netsim/config.hpp"
#include "netsim/scenario.hpp"

namespace netsim::python {

// simulation_binding.cpp: Simulation, TaskCancelled, DeadlockError, start_thread.
void bind_simulation(pybind11::module_& m);
// The Config of Python's keywords (policy "run-until-block" or "random"; raises
// ValueError for another), shared with run_commands.
Config make_config(std::uint64_t seed, const std::string& policy, std::optional<Nanos> epoch_ns);
// An address of Python's text ("10.0.0.2", "fd00::2"); raises ValueError.
Ip parse_ip(const std::string& text);
// scenario_binding.cpp: the Scenario of netsim.scenario's checked data (a dict).
Scenario to_scenario(const pybind11::handle& data);
// calls.cpp: the kernel calls of Python code in simulated tasks.
void bind_calls(pybind11::module_& m);
// runner_binding.cpp: run_commands, the engine of simrun.
void bind_runner(pybind11::module_& m);

}  // namespace netsim::python
