// netsim._core.Simulation: the C++ Simulation, with tasks that run Python callables.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "netsim/errors.hpp"
#include "netsim/simulation.hpp"
#include "bindings.hpp"
#include "interrupt_watcher.hpp"
#include "python_restarts.hpp"
#include "python_task.hpp"

namespace netsim::python {

py::object task_cancelled_type() {
  // Lives as long as the interpreter; never freed, so never freed too late.
  static PyObject* type =
      PyErr_NewException("netsim._core.TaskCancelled", PyExc_BaseException, nullptr);
  return py::reinterpret_borrow<py::object>(type);
}

namespace {

Config with_buffer(Config config, std::size_t socket_buffer) {
  config.socket_buffer = socket_buffer;
  return config;
}

}  // namespace

Ip parse_ip(const std::string& text) {
  const std::optional<Ip> ip = Ip::parse(text);
  if (!ip) throw py::value_error("not an IP address: '" + text + "'");
  return *ip;
}

namespace {

// "pct" is PCT of the default depth, "pct:D" of depth D (1 to 999).
std::optional<int> pct_depth(const std::string& policy) {
  if (policy == "pct") return Pct{}.depth;
  const std::string digits = policy.starts_with("pct:") ? policy.substr(4) : "";
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int depth = std::stoi(digits);
  return depth >= 1 ? std::optional<int>(depth) : std::nullopt;
}

// "schedule:P:T,P:T,...": at scheduling point P task T runs (Policy::schedule);
// "schedule:" alone is run-until-block through the same scheduling points.
std::optional<std::vector<Deviation>> schedule_of(const std::string& policy) {
  if (!policy.starts_with("schedule:")) return std::nullopt;
  std::vector<Deviation> schedule;
  std::istringstream items(policy.substr(9));
  std::string item;
  while (std::getline(items, item, ',')) {
    const std::size_t colon = item.find(':');
    const auto number = [](const std::string& digits) {
      return !digits.empty() && digits.size() <= 18 && digits.find_first_not_of("0123456789") == std::string::npos;
    };
    if (colon == std::string::npos || !number(item.substr(0, colon)) || !number(item.substr(colon + 1)) ||
        item.size() - colon - 1 > 9)
      return std::nullopt;
    schedule.push_back({std::stoull(item.substr(0, colon)), std::stoi(item.substr(colon + 1))});
  }
  return schedule;
}

}  // namespace

Config make_config(std::uint64_t seed, const std::string& policy, std::optional<Nanos> epoch_ns,
                   const std::vector<std::pair<std::string, std::string>>& short_paths) {
  Config config;
  for (const auto& [directory, shown] : short_paths) config.short_paths.push_back({directory, shown});
  config.seed = seed;
  if (policy == "random") {
    config.policy = Policy::random;
  } else if (const std::optional<int> depth = pct_depth(policy)) {
    config.policy = Policy::pct;
    config.pct.depth = *depth;
  } else if (std::optional<std::vector<Deviation>> schedule = schedule_of(policy)) {
    config.policy = Policy::schedule;
    config.schedule = std::move(*schedule);
  } else if (policy != "run-until-block") {
    throw py::value_error("policy is 'run-until-block', 'random', 'pct' or 'pct:D' (D from 1 to 999), or "
                          "'schedule:P:T,...' (at scheduling point P, task T), not '" + policy + "'");
  }
  if (epoch_ns) config.epoch = *epoch_ns;
  return config;
}

void bind_simulation(py::module_& m) {
  m.attr("TaskCancelled") = task_cancelled_type();
  static py::exception<DeadlockError> deadlock(m, "DeadlockError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const TaskCancelled&) {
      // The stop reaches this task here; a Ctrl-C's TaskCancelled still pending for it
      // (raise_in_tasks) would otherwise cut its clean-up short.
      PyThreadState_SetAsyncExc(PyThread_get_thread_ident(), nullptr);
      PyErr_SetNone(task_cancelled_type().ptr());
    } catch (const DeadlockError& e) {
      PyErr_SetString(deadlock.ptr(), e.what());
    }
  });

  py::class_<PySimulation>(m, "Simulation")
      .def(py::init([](std::uint64_t seed, const std::string& policy, std::optional<Nanos> epoch_ns,
                       std::size_t socket_buffer, const std::vector<std::pair<std::string, std::string>>& short_paths) {
             return std::make_unique<PySimulation>(
                 with_buffer(make_config(seed, policy, epoch_ns, short_paths), socket_buffer));
           }),
           py::arg("seed") = 0, py::arg("policy") = "run-until-block",
           py::arg("epoch_ns") = py::none(), py::arg("socket_buffer") = Config{}.socket_buffer,
           py::arg("short_paths") = std::vector<std::pair<std::string, std::string>>{})
      .def(
          "add_host",
          [](PySimulation& sim, std::string name, const std::vector<std::string>& addresses) {
            std::vector<Ip> ips;
            for (const auto& text : addresses) ips.push_back(parse_ip(text));
            try {
              sim.add_host(std::move(name), std::move(ips));
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
          },
          py::arg("name"), py::arg("addresses"))
      .def(
          "spawn",
          [](PySimulation& sim, std::string name, py::object main, std::optional<std::string> host) {
            Host* where = nullptr;
            if (host) {
              where = sim.kernel().find_host(*host);
              if (!where) throw py::value_error("no host named '" + *host + "': add_host() it first");
            }
            Process& process = sim.create_process(name, where);
            sim.restarts().remember(process, std::move(name), main);
            add_python_task(sim.kernel(), process, process.name(), std::move(main), true);
            return process.pid();
          },
          py::arg("name"), py::arg("main"), py::arg("host") = py::none(),
          "Adds a process whose first task calls main(), which returns the exit status.")
      .def(
          "apply",
          [](PySimulation& sim, const py::handle& data) {
            const Scenario scenario = to_scenario(data);
            try {
              sim.apply(scenario);
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
          },
          py::arg("data"), "Sets the network and faults (netsim.scenario's data); before any spawn.")
      .def("run",
           [](PySimulation& sim, int wakeup_fd) {
             RunResult result;
             bool interrupted = false;
             {
               py::gil_scoped_release release;
               InterruptWatcher watcher(wakeup_fd, sim);
               result = sim.run();
               interrupted = watcher.fired();
             }
             py::list processes;
             for (const ProcessResult& p : result.processes)
               processes.append(py::make_tuple(p.pid, p.name, p.status, p.killed));
             py::dict out;
             out["elapsed_ns"] = result.elapsed;
             out["exit_status"] = result.exit_status;
             out["processes"] = processes;
             out["interrupted"] = interrupted;
             return out;
           },
           py::arg("wakeup_fd") = -1,
           "Runs the simulation; a SIGINT byte on wakeup_fd (Python's signal wakeup fd) "
           "stops it, and the result says so.")
      .def("stop", &Simulation::stop, "Ends the run at the next switch between tasks.")
      .def("transcript", [](const PySimulation& sim) { return py::bytes(sim.transcript()); })
      .def(
          "trace",
          [](PySimulation& sim) {
            return TraceHandle{std::shared_ptr<const Trace>(&sim.trace(), [](const Trace*) {}),
                               sim.kernel().clock().epoch(), sim.kernel().config().short_paths};
          },
          py::keep_alive<0, 1>(), "The run's trace (netsim._core.Trace); keeps the Simulation alive.");

  m.def(
      "start_thread",
      [](std::string name, py::object main) {
        TaskContext& context = current();
        if (!context.task) throw std::logic_error("netsim: start_thread outside a simulated task");
        return add_python_task(*context.kernel, context.task->process(), std::move(name),
                               std::move(main), false);
      },
      "Starts main() as a new task (thread) of the calling task's process; returns its thread id.");
}

}  // namespace netsim::python
