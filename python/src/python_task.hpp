#pragma once
// Python code runs in simulated tasks on OS threads that pass a baton with the
// scheduler (netsim::ThreadTask): each task keeps its own interpreter thread state,
// so tracebacks, recursion limits, exceptions and contextvars stay intact.
#include <pybind11/pybind11.h>

#include "netsim/kernel.hpp"

namespace netsim::python {

namespace py = pybind11;

// The simulated task running on this OS thread, or null outside any simulation.
struct TaskContext {
  Kernel* kernel = nullptr;
  Task* task = nullptr;
};
TaskContext& current();

// Starts `main` (a Python callable returning the exit status) as a new task of
// `process`; returns its thread id (Task::tid). The process's first task ends the process when
// it returns.
int add_python_task(Kernel& kernel, Process& process, std::string name, py::object main,
                    bool staged);

// Raises `error` in every Python task of `kernel` whose code has started, at its next
// bytecode: how a Ctrl-C reaches a task that computes without making a call. A task
// blocked in the kernel meets it when it resumes, which the stop then makes it do.
// Call with the GIL held.
void raise_in_tasks(const Kernel& kernel, PyObject* error);

// netsim._core.TaskCancelled: raised into a task the simulation stops. It derives
// from BaseException so that `except Exception` in user code lets it through.
py::object task_cancelled_type();

}  // namespace netsim::python
