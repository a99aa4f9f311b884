#include "netsim/short_paths.hpp"

#include <algorithm>

namespace netsim {
namespace {

bool in_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '/' || c == '~' || c == '+' || c == '@';
}

}  // namespace

std::string shorten_paths(std::string_view line, const std::vector<PathForm>& forms) {
  std::vector<const PathForm*> order;
  for (const PathForm& form : forms)
    if (form.directory.size() > 1 && form.directory.front() == '/') order.push_back(&form);
  if (order.empty()) return std::string(line);
  std::stable_sort(order.begin(), order.end(), [](const PathForm* a, const PathForm* b) {
    return a->directory.size() > b->directory.size();
  });
  std::string out;
  std::size_t i = 0;
  while (i < line.size()) {
    const PathForm* match = nullptr;
    if (line[i] == '/' && (i == 0 || !in_name(line[i - 1]))) {
      for (const PathForm* form : order) {
        const std::string& dir = form->directory;
        if (line.compare(i, dir.size(), dir) != 0) continue;
        const std::size_t end = i + dir.size();
        if (end == line.size() || line[end] == '/' || !in_name(line[end])) {
          match = form;
          break;
        }
      }
    }
    if (!match) {
      out += line[i++];
      continue;
    }
    i += match->directory.size();
    if (i < line.size() && line[i] == '/') {
      // A path under the directory: relative to it, or under its short form.
      ++i;
      if (!match->shown.empty()) out.append(match->shown).append("/");
    } else {
      out += match->shown.empty() ? std::string(".") : match->shown;
    }
  }
  return out;
}

}  // namespace netsim
