#pragma once
// The transcript: every line the processes printed, "NAME: line", in simulated order.
#include <string>

#include "netsim/short_paths.hpp"
#include "netsim/trace.hpp"

namespace netsim {

// Lines are emitted when their newline is written; a partial line is emitted when
// its process exits (or at the end of the trace), with a newline added. stdout and
// stderr are kept apart per process so one stream never splits the other's line.
// Each line's paths are written with `short_paths`' forms.
std::string make_transcript(const Trace& trace, const std::vector<PathForm>& short_paths = {});

}  // namespace netsim
