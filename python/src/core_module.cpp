// netsim._core: the Python binding of the C++ core. The package's Python modules
// (python/netsim) are the public API; this module is their engine.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "netsim's C++ core (internal; use the netsim package).";
  m.attr("__version__") = NETSIM_VERSION;
  netsim::python::bind_trace(m);
  netsim::python::bind_simulation(m);
  netsim::python::bind_cassette(m);
  netsim::python::bind_calls(m);
  // simrun's engine exists only in a build with the shim (CMake's NETSIM_SHIM);
  // netsim.simrun tells which from this attribute.
  m.attr("has_simrun") = static_cast<bool>(NETSIM_WITH_SHIM);
#if NETSIM_WITH_SHIM
  netsim::python::bind_runner(m);
#endif
}
