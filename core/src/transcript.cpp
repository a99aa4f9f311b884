#include "netsim/transcript.hpp"

#include <map>
#include <utility>

namespace netsim {

std::string make_transcript(const Trace& trace, const std::vector<PathForm>& short_paths) {
  std::string out;
  std::map<int, std::string> names;                   // pid -> process name
  std::map<std::pair<int, int>, std::string> partial;  // (pid, stream) -> unfinished line

  auto emit = [&](int pid, std::string_view line) {
    out += names[pid];
    out += ": ";
    if (short_paths.empty())
      out += line;
    else
      out += shorten_paths(line, short_paths);
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
    }
  }
  for (auto& [key, line] : partial)
    if (!line.empty()) emit(key.first, line);
  return out;
}

}  // namespace netsim
