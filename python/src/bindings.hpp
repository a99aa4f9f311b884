#pragma once
// The parts of the netsim._core module, one function per file.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/cassette.hpp"
#include "netsim/config.hpp"
#include "netsim/scenario.hpp"
#include "netsim/trace.hpp"

namespace netsim::python {

// simulation_binding.cpp: Simulation, TaskCancelled, DeadlockError, start_thread.
void bind_simulation(pybind11::module_& m);
// The Config of Python's keywords (policy "run-until-block" or "random"; raises
// ValueError for another), shared with run_commands. short_paths: (directory, shown)
// pairs, the transcript's short forms of paths.
Config make_config(std::uint64_t seed, const std::string& policy, std::optional<Nanos> epoch_ns,
                   const std::vector<std::pair<std::string, std::string>>& short_paths = {});
// An address of Python's text ("10.0.0.2", "fd00::2"); raises ValueError.
Ip parse_ip(const std::string& text);
// scenario_binding.cpp: the Scenario of netsim.scenario's checked data (a dict).
Scenario to_scenario(const pybind11::handle& data);
// cassette_binding.cpp: the cassette options of netsim._cassette's data (a dict;
// raises ValueError), and a run's cassette outcome as a dict.
cassette::Options to_cassette(const pybind11::handle& data);
pybind11::dict from_outcome(const cassette::Outcome& outcome);
// The CassetteDeck class: a cassette's services in an in-process Simulation.
void bind_cassette(pybind11::module_& m);
// calls.cpp: the kernel calls of Python code in simulated tasks.
void bind_calls(pybind11::module_& m);
// runner_binding.cpp: run_commands, the engine of simrun (in a build with the shim).
void bind_runner(pybind11::module_& m);

// A run's trace as Python holds it: simrun's own (owned), or a Simulation's (not
// owned: the Python object keeps the Simulation alive).
struct TraceHandle {
  std::shared_ptr<const Trace> trace;
  Nanos epoch = 0;  // the virtual wall clock at the start
  std::vector<PathForm> short_paths;  // how its lines show paths (Config::short_paths)
};
// trace_binding.cpp: Trace (JSON lines, transcript lines, pcap).
void bind_trace(pybind11::module_& m);

}  // namespace netsim::python
