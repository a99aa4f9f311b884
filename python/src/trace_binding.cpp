// netsim._core.Trace: a run's event trace and what is derived from it (JSON lines,
// transcript lines with their times, the pcap capture), for Result and RunReport.
#include <pybind11/pybind11.h>

#include <memory>
#include <utility>

#include "bindings.hpp"
#include "netsim/pcap.hpp"
#include "netsim/transcript.hpp"

namespace netsim::python {

namespace py = pybind11;

void bind_trace(py::module_& m) {
  py::class_<TraceHandle>(m, "Trace")
      .def("jsonl", [](const TraceHandle& h) { return h.trace->to_jsonl(); },
           "The events as JSON lines (see Trace::to_jsonl).")
      .def(
          "lines",
          [](const TraceHandle& h) {
            py::list out;
            for (const TranscriptLine& line : transcript_lines(*h.trace, h.short_paths))
              out.append(py::make_tuple(line.name, line.stream, line.time, py::bytes(line.text)));
            return out;
          },
          "The transcript's lines: [(name, stream 1 or 2, virtual ns since the start, bytes)].")
      .def("pcap", [](const TraceHandle& h) { return py::bytes(make_pcap(*h.trace, h.epoch)); },
           "The run as a pcap capture (bytes).")
      .def_property_readonly("epoch_ns", [](const TraceHandle& h) { return h.epoch; },
                             "The virtual wall clock at the start, in ns since 1970.");
}

}  // namespace netsim::python
