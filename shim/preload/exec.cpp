// execve() and execveat(): the new image must find the shim preloaded and the pool
// (its descriptor and this process's region) in its environment, which the shim took
// out of the program's sight at start, so they go back into a copy of envp. The new
// image's shim then takes over the process (same pid, same task) with kCallExec and
// re-adopts the simulated descriptors the exec kept. Reached from the SIGSYS handler
// too: no malloc, the copy lives in an anonymous mapping.
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>

#include "netsim/shim/program_kind.hpp"
#include "shim.hpp"

namespace netsim::shim {
namespace {

// The shim's path, the first entry of LD_PRELOAD as simrun set it.
char g_shim[4096];

bool starts_with(const char* text, const char* prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

// "NAME=" followed by the number.
char* put_number(char* out, const char* name, long value) {
  const std::size_t length = strlen(name);
  memcpy(out, name, length);
  out += length;
  *out++ = '=';
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value);
  while (n) *out++ = digits[--n];
  *out++ = 0;
  return out;
}

// A program the shim cannot follow into is refused, with a line on stderr, rather than
// run outside the simulation.
long refuse_unreachable(int at, const char* path) {
  const ProgramKind kind = path_kind(
      at, path,
      [](int dir, const char* name) { return static_cast<int>(raw(SYS_openat, dir, reinterpret_cast<long>(name), O_RDONLY | O_CLOEXEC)); },
      [](int fd, void* buffer, unsigned long size, long offset) {
        return raw(SYS_pread64, fd, reinterpret_cast<long>(buffer), static_cast<long>(size), offset);
      },
      [](int fd) { raw(SYS_close, fd); });
  const char* why = refusal(kind);
  if (!why) return 0;
  static char message[4096 + 512];
  message[0] = 0;
  strncat(message, "exec of ", sizeof message - 1);
  strncat(message, path, 4096);
  strncat(message, " refused: ", sizeof message - strlen(message) - 1);
  strncat(message, why, sizeof message - strlen(message) - 1);
  return unsupported(message);
}

}  // namespace

void remember_preload(const char* value) {
  if (!value) return;
  std::size_t length = strcspn(value, ": ");
  if (length >= sizeof g_shim) length = 0;
  memcpy(g_shim, value, length);
  g_shim[length] = 0;
}

long exec_call(long nr, const long* a) {
  const long at = nr == SYS_execve ? AT_FDCWD : a[0];
  const auto* path = reinterpret_cast<const char*>(nr == SYS_execve ? a[0] : a[1]);
  if (path && *path) {
    if (const long refused = refuse_unreachable(static_cast<int>(at), path)) return refused;
  }
  const int envp_index = nr == SYS_execve ? 2 : 3;
  const auto* envp = reinterpret_cast<char* const*>(a[envp_index]);
  std::size_t count = 0;
  std::size_t room = 3 * 64 + 2 * sizeof g_shim;
  const char* theirs = nullptr;
  for (; envp && envp[count]; ++count) {
    if (starts_with(envp[count], "LD_PRELOAD=")) theirs = envp[count] + 11;
    room += strlen(envp[count]) + 1;
  }
  room += (count + 4) * sizeof(char*);
  void* memory = mmap(nullptr, room, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return -ENOMEM;
  auto** env = static_cast<char**>(memory);
  char* text = reinterpret_cast<char*>(env + count + 4);
  std::size_t n = 0;
  for (std::size_t i = 0; i < count; ++i)
    if (!starts_with(envp[i], "LD_PRELOAD=") && !starts_with(envp[i], kRegionFdEnv) &&
        !starts_with(envp[i], kRegionIndexEnv))
      env[n++] = envp[i];
  env[n++] = text;
  text = stpcpy(text, "LD_PRELOAD=");
  text = stpcpy(text, g_shim);
  if (theirs && *theirs && strstr(theirs, g_shim) == nullptr) {
    *text++ = ':';
    text = stpcpy(text, theirs);
  }
  ++text;
  env[n++] = text;
  text = put_number(text, kRegionFdEnv, pool_fd());
  env[n++] = text;
  put_number(text, kRegionIndexEnv, region_index());
  env[n] = nullptr;
  plug_low_fds();
  long r;
  if (nr == SYS_execve)
    r = raw(SYS_execve, a[0], a[1], reinterpret_cast<long>(env));
  else
    r = raw(SYS_execveat, a[0], a[1], a[2], reinterpret_cast<long>(env), a[4]);
  unplug_low_fds(true);  // the exec failed: this image goes on
  munmap(memory, room);
  return r;
}

void join_after_exec() {
  static std::int32_t fds[kSlotBuffer / sizeof(std::int32_t)];
  const long count = forward(kCallExec);
  if (count <= 0) return;
  memcpy(fds, my_slot()->buffer, static_cast<std::size_t>(count) * sizeof(std::int32_t));
  for (long i = 0; i < count; ++i) {
    // Open: a placeholder the exec kept; gone: close-on-exec closed it.
    if (raw(SYS_fcntl, fds[i], F_GETFD) >= 0)
      adopt_fd(fds[i], FdKind::socket);
    else
      forward(SYS_close, fds[i]);
  }
}

}  // namespace netsim::shim
