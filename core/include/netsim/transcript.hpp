#pragma once
// The transcript: every line the processes printed, "NAME: line", in simulated order.
#include <string>
#include <vector>

#include "netsim/short_paths.hpp"
#include "netsim/trace.hpp"

namespace netsim {

// One line a process printed, for outputs that show more than "NAME: line" (JSON,
// HTML, timestamps).
struct TranscriptLine {
  int pid = 0;       // 0: netsim's own line, where an injected fault fires
  std::string name;  // the process's; "netsim" for netsim's own
  int stream = 1;    // 1: stdout, 2: stderr
  Nanos time = 0;    // when its newline was written (or the process ended)
  std::string text;  // the bytes, without the newline
};

// Lines are emitted when their newline is written; a partial line is emitted when
// its process exits (or at the end of the trace), with a newline added. stdout and
// stderr are kept apart per process so one stream never splits the other's line.
// Each line's paths are written with `short_paths`' forms.
std::vector<TranscriptLine> transcript_lines(const Trace& trace,
                                             const std::vector<PathForm>& short_paths = {});

// The lines as "NAME: line\n".
std::string make_transcript(const Trace& trace, const std::vector<PathForm>& short_paths = {});

}  // namespace netsim
