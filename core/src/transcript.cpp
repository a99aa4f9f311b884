#include "netsim/transcript.hpp"

#include <map>
#include <utility>

#include <fmt/format.h>

namespace netsim {

std::string make_transcript(const Trace& trace) {
  std::string out;
  std::map<int, std::string> names;                   // pid -> process name
  std::map<std::pair<int, int>, std::string> partial;  // (pid, stream) -> unfinished line

  auto emit = [&](int pid, std::string_view line) {
    out += names[pid];
    out += ": ";
    out += line;
    out += '\n';
  };
  auto flush = [&](int pid) {
    for (auto it = partial.lower_bound({pid, 0}); it != partial.end() && it->first.first == pid;) {
      if (!it->second.empty()) emit(pid, it->second);
      it = partial.erase(it);
    }
  };

  for (const Event& event : trace.events()) {
    if (event.kind == EventKind::spawn) {
      names[event.pid] = event.data;
    } else if (event.kind == EventKind::exit) {
      flush(event.pid);
    } else if (event.kind == EventKind::output) {
      std::string& pending = partial[{event.pid, static_cast<int>(event.value)}];
      std::string_view bytes = event.data;
      for (auto newline = bytes.find('\n'); newline != std::string_view::npos;
           newline = bytes.find('\n')) {
        pending.append(bytes.substr(0, newline));
        emit(event.pid, pending);
        pending.clear();
        bytes.remove_prefix(newline + 1);
      }
      pending.append(bytes);
    } else if (event.kind == EventKind::fault && event.value == 1) {
      // Where an injected fault fires, so that a reader sees the cause by its effect.
      out += fmt::format("netsim: {} at {:.3f}s\n", event.data, static_cast<double>(event.time) / kSecond);
    }
  }
  for (auto& [key, line] : partial)
    if (!line.empty()) emit(key.first, line);
  return out;
}

}  // namespace netsim
