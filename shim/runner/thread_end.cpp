// The real end of a thread that left the simulation. After the reply to its
// kCallThreadExit the thread still runs glibc's own end: it gives back its malloc
// cache and, when detached, its stack, under locks the other threads of its process
// take too (the malloc arena's, the stack cache's), and marks its slot idle for the
// next pthread_create. Were another thread of the process served meanwhile, which
// slot a new thread gets would depend on real timing, and a simulated thread that
// found such a lock held would wait for it in the simulation, where the ending
// thread's real wake never arrives: a deadlock of one run in a few hundred. So nothing
// else is served until the thread has left user space.
//
// The shim names each new thread at its start (kCallStart: its id in simrun's PID
// namespace), so the ending thread is found at once, whatever the number of threads,
// and a pidfd of the thread alone (PIDFD_THREAD) becomes readable when it has exited:
// the runner sleeps until then instead of polling. The pidfd is opened while the
// thread still waits for its reply, so its id cannot belong to another thread yet. A
// main thread that ends before the others stays a zombie until they end too, which no
// pidfd reports, and a kernel older than 6.9 has no thread pidfds: then the thread's
// state in /proc is looked at every 20 us.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "proc.hpp"
#include "runner.hpp"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // linux/pidfd.h of Linux 6.9
#endif

namespace netsim::shim {
namespace {

// How long each look at a thread without a pidfd waits before the next.
constexpr long kLookNanos = 20'000;
// How long a wait on a thread's pidfd lasts before simrun looks at its own events
// (Ctrl-C, the watchdog) and at whether the child still lives.
constexpr long kPidfdWaitNanos = 5'000'000;

// Out of user space: gone, or a zombie (a main thread that ended before the others).
bool left_user_space(pid_t pid, pid_t tid) {
  const std::string stat = read_proc(fmt::format("/proc/{}/task/{}/stat", pid, tid));
  const std::optional<std::string_view> state = stat_field(stat, 3);
  return !state || *state == "Z" || *state == "X";
}

}  // namespace

ThreadEnd::ThreadEnd(pid_t pid, pid_t tid) : pid_(pid) {
  // The id came from the child: it must name a thread of that child.
  if (tid <= 0 || access(fmt::format("/proc/{}/task/{}", pid, tid).c_str(), F_OK) != 0) return;
  tid_ = tid;
  if (tid != pid) pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
}

ThreadEnd::~ThreadEnd() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool ThreadEnd::wait() const {
  if (tid_ < 0) return true;
  if (pidfd_ >= 0) {
    pollfd exited = {pidfd_, POLLIN, 0};
    const timespec timeout = {0, kPidfdWaitNanos};
    const int ready = ppoll(&exited, 1, &timeout, nullptr);
    return ready > 0 || (ready < 0 && errno != EINTR);
  }
  if (left_user_space(pid_, tid_)) return true;
  const timespec pause = {0, kLookNanos};
  nanosleep(&pause, nullptr);
  return false;
}

void Runner::await_thread_end(RemoteProcess& remote, const ThreadEnd& thread) {
  while (!thread.wait()) {
    poll_events();
    if (aborting_ || reap(remote, false)) return;
  }
}

}  // namespace netsim::shim
