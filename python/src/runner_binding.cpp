// netsim._core.run_commands: real programs on the simulated network, under the shim
// (shim/include/netsim/shim/run.hpp). netsim.simrun is its command line and Python API.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <signal.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "netsim/shim/run.hpp"

namespace netsim::python {

namespace py = pybind11;

namespace {

py::dict to_dict(shim::RunReport& report, const Config& config) {
  py::list processes;
  for (const shim::ProcessReport& p : report.processes)
    processes.append(py::make_tuple(p.name, p.pid, p.status, p.outcome, p.stopped));
  py::dict out;
  out["transcript"] = py::bytes(report.transcript);
  out["exit_status"] = report.exit_status;
  out["processes"] = processes;
  out["problem"] = report.problem;
  out["deadlock"] = report.deadlock;
  out["timed_out"] = report.timed_out;
  out["interrupted"] = report.interrupted;
  out["warning"] = report.warning;
  out["unsupported"] = report.unsupported;
  out["cassette"] = from_outcome(report.cassette);
  out["trace"] = TraceHandle{std::make_shared<const Trace>(std::move(report.trace)), config.epoch,
                             config.short_paths};
  return out;
}

}  // namespace

void bind_runner(py::module_& m) {
  m.def(
      "run_commands",
      [](const std::vector<std::pair<std::string, std::vector<std::string>>>& commands,
         std::uint64_t seed, std::string shim, std::vector<std::string> env,
         std::optional<double> timeout, std::string trace, std::optional<Nanos> epoch_ns,
         const std::string& policy, std::optional<std::uint64_t> schedule_seed,
         const std::map<std::string, std::string>& inputs, int stop_signal,
         const std::vector<std::pair<std::string, std::string>>& short_paths, const py::object& scenario,
         const py::object& cassette) {
        shim::RunOptions options;
        options.config = make_config(seed, policy, epoch_ns, short_paths);
        options.stop_signal = stop_signal;
        options.config.schedule_seed = schedule_seed;
        options.shim_path = std::move(shim);
        options.env = std::move(env);
        options.timeout_seconds = timeout;
        options.trace_path = std::move(trace);
        if (!scenario.is_none()) options.scenario = to_scenario(scenario);
        if (!cassette.is_none()) options.cassette = to_cassette(cassette);
        std::vector<shim::Command> list;
        for (const auto& [name, argv] : commands) {
          if (argv.empty()) throw py::value_error("command '" + name + "' has an empty argv");
          shim::Command command{name, argv, std::nullopt};
          if (const auto it = inputs.find(name); it != inputs.end()) command.input = it->second;
          list.push_back(std::move(command));
        }
        shim::RunReport report;
        {
          // The run takes as long as the programs do; other Python threads (a
          // notebook's kernel) go on meanwhile.
          py::gil_scoped_release release;
          report = shim::run_commands(list, options);
        }
        return to_dict(report, options.config);
      },
      py::arg("commands"), py::kw_only(), py::arg("seed"), py::arg("shim"), py::arg("env"),
      py::arg("timeout") = py::none(), py::arg("trace") = "", py::arg("epoch_ns") = py::none(),
      py::arg("policy") = "run-until-block", py::arg("schedule_seed") = py::none(), py::arg("inputs") = std::map<std::string, std::string>{},
      py::arg("stop_signal") = SIGTERM, py::arg("short_paths") = std::vector<std::pair<std::string, std::string>>{},
      py::arg("scenario") = py::none(), py::arg("cassette") = py::none(),
      R"(Runs real programs under the shim, each once every earlier one is blocked, until
the last ends. commands: [(name, argv)]; env: the children's environment as
"NAME=value" strings; shim: the path of libnetsim_shim.so; timeout: wall-clock
seconds or None; trace: a path for the event trace as JSON lines, "" for none;
epoch_ns: the virtual wall clock at the start; policy: "run-until-block" or "random";
schedule_seed: seeds the random policy's choices alone (None: seed does); inputs: {name: bytes}, the stdin of
the commands so named (the others read /dev/null); stop_signal: what stops the
processes still running at the end (then SIGTERM, then SIGKILL); short_paths:
[(directory, shown)], the transcript's short forms of paths (none: raw); scenario:
netsim.scenario's data (hosts, links, faults) or None; cassette: netsim._cassette's
services to record or play, or None. Returns a dict: transcript (bytes),
exit_status (the last command's), processes ([(name, pid, status, outcome, stopped)] in
command order), problem (str, "" when the last command ended on its own), and the
bools deadlock, timed_out, interrupted, warning (str, why the run had no
namespaces, "" when it had them) and unsupported ([str], the calls not simulated that
failed with ENOSYS, each once), cassette ({conversations, problem}). Raises RuntimeError when a command cannot be
started.)");
}

}  // namespace netsim::python
