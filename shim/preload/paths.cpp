// unlink() and unlinkat() of a path a simulated Unix socket was bound to. No real file
// was made for it, so the simulation removes the name (SYS_unlink, served in
// shim/runner/net_calls.cpp); any other path is the real file system's. Wrapped in
// libc only: ld.so never unlinks, and a program's raw unlink reaches real files.
#include <fcntl.h>
#include <sys/un.h>

#include <cstring>

#include "calls.hpp"
#include "shim.hpp"

namespace netsim::shim {

bool path_call(long nr, const long* a, long& result) {
  if (nr != SYS_unlink && nr != SYS_unlinkat) return false;
  const char* path = reinterpret_cast<const char*>(nr == SYS_unlink ? a[0] : a[1]);
  if (path == nullptr || my_slot() == nullptr) return false;
  if (nr == SYS_unlinkat && ((a[2] & AT_REMOVEDIR) || (path[0] != '/' && a[0] != AT_FDCWD))) return false;
  // Longer paths cannot have been bound.
  const std::size_t n = strnlen(path, sizeof(sockaddr_un::sun_path) + 1);
  if (n == 0 || n > sizeof(sockaddr_un::sun_path)) return false;
  Slot& s = *my_slot();
  std::memcpy(s.buffer + kUnixNameAt, path, n);
  set_call(s, SYS_unlink, static_cast<long>(n));
  if (forward(s) != 0) return false;
  result = 0;
  return true;
}

}  // namespace netsim::shim

// Wrapped only (calls.hpp: Trap::never): a path is no descriptor the filter can test.
static_assert(netsim::shim::intercepted(SYS_unlink) && netsim::shim::intercepted(SYS_unlinkat));

extern "C" int unlink(const char* path) {
  const long args[6] = {reinterpret_cast<long>(path)};
  return static_cast<int>(netsim::shim::libc_result(netsim::shim::dispatch(SYS_unlink, args)));
}

extern "C" int unlinkat(int dirfd, const char* path, int flags) {
  const long args[6] = {dirfd, reinterpret_cast<long>(path), flags};
  return static_cast<int>(netsim::shim::libc_result(netsim::shim::dispatch(SYS_unlinkat, args)));
}
