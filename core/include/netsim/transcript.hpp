#pragma once
// The transcript: every line the processes printed, "NAME: line", in simulated order.
#include <string>

#include "netsim/trace.hpp"

namespace netsim {

// Lines are emitted when their newline is written; a partial line is emitted when
// its process exits (or at the end of the trace), with a newline added. stdout and
// stderr are kept apart per process so one stream never splits the other's line.
std::string make_transcript(const Trace& trace);

}  // namespace netsim
