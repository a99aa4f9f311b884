#pragma once
// In-process restarts: a program a fault killed (scenario.hpp, kill with
// restart_after) runs its Python callable again, in a new process of its program's
// name on the same host. Simulation's own default restarts only fiber processes.
#include <pybind11/pybind11.h>

#include <map>
#include <string>

#include "netsim/process_control.hpp"
#include "netsim/simulation.hpp"

namespace netsim::python {

class PythonRestarts : public ProcessControl {
 public:
  explicit PythonRestarts(Simulation& sim) : sim_(sim) {}
  // Called with the GIL held.
  void remember(const Process& process, std::string program, pybind11::object main);
  void restart(const Process& dead) override;

 private:
  struct Program {
    std::string name;  // as spawned: "client" for client-2, so placement finds it again
    pybind11::object main;
  };
  Simulation& sim_;
  std::map<int, Program> programs_;
};

// netsim._core.Simulation: the C++ Simulation with its in-process restarts.
class PySimulation : public Simulation {
 public:
  explicit PySimulation(Config config) : Simulation(config), restarts_(*this) {
    set_process_control(&restarts_);
  }
  ~PySimulation() { set_process_control(nullptr); }
  PythonRestarts& restarts() { return restarts_; }

 private:
  PythonRestarts restarts_;
};

}  // namespace netsim::python
