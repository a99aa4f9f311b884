// netsim._core: the Python binding of the C++ core. The package's Python modules
// (python/netsim) are the public API; this module is their engine.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

#ifndef NETSIM_VERSION
#define NETSIM_VERSION "0.0.0"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "netsim's C++ core (internal; use the netsim package).";
  m.attr("__version__") = NETSIM_VERSION;
  netsim::python::bind_trace(m);
  netsim::python::bind_simulation(m);
  netsim::python::bind_calls(m);
  netsim::python::bind_runner(m);
}
