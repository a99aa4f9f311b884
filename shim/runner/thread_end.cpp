// The real end of a thread that left the simulation. After the reply to its
// kCallThreadExit the thread still runs glibc's own end: it gives back its malloc
// cache and, when detached, its stack, under locks the other threads of its process
// take too (the malloc arena's, the stack cache's), and marks its slot idle for the
// next pthread_create. Were another thread of the process served meanwhile, which
// slot a new thread gets would depend on real timing, and a simulated thread that
// found such a lock held would wait for it in the simulation, where the ending
// thread's real wake never arrives: a deadlock of one run in a few hundred. So nothing
// else is served until the thread has left user space.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "runner.hpp"

namespace netsim::shim {
namespace {

// How long each look at the thread waits before the next.
constexpr long kLookNanos = 20'000;

// A small /proc file's text; "" once the thread it describes is gone (a read of a
// vanished task's file fails with ESRCH).
std::string read_proc(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buffer[2048];
  const ssize_t size = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  return size > 0 ? std::string(buffer, static_cast<std::size_t>(size)) : std::string();
}

// The id simrun sees of the thread of `pid` whose id in its own PID namespace (what
// gettid told it) is `ns_tid`; -1 when there is none any more.
pid_t find_thread(pid_t pid, long ns_tid) {
  const std::string tasks = fmt::format("/proc/{}/task", pid);
  DIR* dir = opendir(tasks.c_str());
  if (!dir) return -1;
  pid_t found = -1;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string status = read_proc(tasks + "/" + entry->d_name + "/status");
    const std::size_t at = status.find("\nNSpid:");
    if (at == std::string::npos) continue;
    // The innermost namespace's id comes last on the line.
    const std::string line = status.substr(at + 1, status.find('\n', at + 1) - at - 1);
    if (std::atol(line.c_str() + line.find_last_of(" \t") + 1) == ns_tid) {
      found = std::atoi(entry->d_name);
      break;
    }
  }
  closedir(dir);
  return found;
}

// Out of user space: gone, or a zombie (a main thread that ended before the others).
bool thread_ended(pid_t pid, pid_t tid) {
  const std::string text = read_proc(fmt::format("/proc/{}/task/{}/stat", pid, tid));
  const std::size_t end = text.rfind(')');
  if (end == std::string::npos || end + 2 >= text.size()) return true;
  const char state = text[end + 2];
  return state == 'Z' || state == 'X';
}

}  // namespace

void Runner::await_thread_end(RemoteProcess& remote, long ns_tid) {
  const pid_t tid = find_thread(remote.child.pid, ns_tid);
  if (tid < 0) return;
  while (!thread_ended(remote.child.pid, tid)) {
    poll_events();
    if (aborting_ || reap(remote, false)) return;
    const timespec pause = {0, kLookNanos};
    nanosleep(&pause, nullptr);
  }
}

}  // namespace netsim::shim
