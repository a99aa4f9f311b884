#include "netsim/transcript.hpp"

#include <map>
#include <utility>

#include <fmt/format.h>

namespace netsim {

std::vector<TranscriptLine> transcript_lines(const Trace& trace,
                                             const std::vector<PathForm>& short_paths) {
  std::vector<TranscriptLine> out;
  std::map<int, std::string> names;                   // pid -> process name
  std::map<std::pair<int, int>, std::string> partial;  // (pid, stream) -> unfinished line

  auto emit = [&](int pid, int stream, Nanos time, std::string_view line) {
    out.push_back({pid, names[pid], stream, time,
                   short_paths.empty() ? std::string(line) : shorten_paths(line, short_paths)});
  };
  auto flush = [&](int pid, Nanos time) {
    for (auto it = partial.lower_bound({pid, 0}); it != partial.end() && it->first.first == pid;) {
      if (!it->second.empty()) emit(pid, it->first.second, time, it->second);
      it = partial.erase(it);
    }
  };

  Nanos last = 0;
  for (const Event& event : trace.events()) {
    last = event.time;
    if (event.kind == EventKind::spawn) {
      names[event.pid] = event.data;
    } else if (event.kind == EventKind::exit) {
      flush(event.pid, event.time);
    } else if (event.kind == EventKind::output) {
      const int stream = static_cast<int>(event.value);
      std::string& pending = partial[{event.pid, stream}];
      std::string_view bytes = event.data;
      for (auto newline = bytes.find('\n'); newline != std::string_view::npos;
           newline = bytes.find('\n')) {
        pending.append(bytes.substr(0, newline));
        emit(event.pid, stream, event.time, pending);
        pending.clear();
        bytes.remove_prefix(newline + 1);
      }
      pending.append(bytes);
    } else if (event.kind == EventKind::fault && event.value == 1) {
      // Where an injected fault fires, so that a reader sees the cause by its effect:
      // a line of netsim's own, no process's (pid 0).
      out.push_back({0, "netsim", 2, event.time,
                     fmt::format("{} at {:.3f}s", event.data, static_cast<double>(event.time) / kSecond)});
    }
  }
  for (auto& [key, line] : partial)
    if (!line.empty()) emit(key.first, key.second, last, line);
  return out;
}

std::string make_transcript(const Trace& trace, const std::vector<PathForm>& short_paths) {
  std::string out;
  for (const TranscriptLine& line : transcript_lines(trace, short_paths)) {
    out += line.name;
    out += ": ";
    out += line.text;
    out += '\n';
  }
  return out;
}

}  // namespace netsim
