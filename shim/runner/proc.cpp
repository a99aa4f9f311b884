#include "proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace netsim::shim {

std::string read_proc(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t size = ::read(fd, buffer, sizeof buffer);
    if (size < 0 && errno == EINTR) continue;
    // A read of a task that is gone fails with ESRCH: what was read is not all of it.
    if (size < 0) text.clear();
    if (size <= 0) break;
    text.append(buffer, static_cast<std::size_t>(size));
  }
  ::close(fd);
  return text;
}

std::optional<std::string_view> stat_field(std::string_view stat, int n) {
  // The name (field 2) is in parentheses and may hold anything, ')' and spaces too.
  const std::size_t name_end = stat.rfind(')');
  if (name_end == std::string_view::npos || n < 3) return std::nullopt;
  std::size_t at = name_end + 1;
  for (int field = 3;; ++field) {
    at = stat.find_first_not_of(" \n", at);
    if (at == std::string_view::npos) return std::nullopt;
    const std::size_t end = std::min(stat.find_first_of(" \n", at), stat.size());
    if (field == n) return stat.substr(at, end - at);
    at = end;
  }
}

}  // namespace netsim::shim
