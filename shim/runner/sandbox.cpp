#include "sandbox.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace netsim::shim {
namespace {

constexpr idtype_t kPidfd = static_cast<idtype_t>(3);  // P_PIDFD

int open_ns(const std::string& path) { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// The namespace's PID 1. Signals from inside the namespace cannot reach it; it waits
// for its own death (with the simulator's thread, or at the end of the run) and
// reaps nothing, so that a dead process stays readable to the simulator until then.
[[noreturn]] void be_init() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Its parent is outside the namespace: 0 here, unless the simulator already died.
  if (getppid() != 0) _exit(1);
  prctl(PR_SET_NAME, "netsim-init");
  syscall(SYS_close_range, 0, ~0U, 0);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (;;) pause();
}

}  // namespace

Sandbox::Sandbox() {
  own_pid_ns_ = open_ns("/proc/thread-self/ns/pid");
  own_net_ns_ = open_ns("/proc/thread-self/ns/net");
  if (own_pid_ns_ < 0 || own_net_ns_ < 0 || unshare(CLONE_NEWPID | CLONE_NEWNET) != 0) {
    warning_ = std::string("cannot make the run's namespaces (") + strerror(errno) +
               "): the shim alone keeps the programs off the real network, and a process a "
               "program forks may outlive simrun if simrun is killed with SIGKILL";
    close_fd(own_pid_ns_);
    close_fd(own_net_ns_);
    return;
  }
  net_ns_ = open_ns("/proc/thread-self/ns/net");
  const pid_t init = ::fork();
  if (init == 0) be_init();
  // The new PID namespace's link reads as such once its first process exists.
  if (init > 0) {
    pid_ns_ = open_ns("/proc/thread-self/ns/pid_for_children");
    init_pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, init, 0));
  }
  const int error = errno;
  leave();
  if (init < 0 || pid_ns_ < 0 || net_ns_ < 0 || init_pidfd_ < 0) {
    warning_ = std::string("cannot start the run's namespaces (") + strerror(error) + ")";
    if (init > 0) {
      kill(init, SIGKILL);
      waitpid(init, nullptr, 0);
    }
    close_fd(init_pidfd_);
    close_fd(pid_ns_);
    close_fd(net_ns_);
  }
}

Sandbox::~Sandbox() {
  if (init_pidfd_ >= 0) {
    syscall(SYS_pidfd_send_signal, init_pidfd_, SIGKILL, nullptr, 0);
    siginfo_t info;
    // Returns once the kernel has killed and reaped the namespace's other processes
    // (those still the simulator's children are reaped by then).
    waitid(kPidfd, static_cast<id_t>(init_pidfd_), &info, WEXITED);
  }
  close_fd(init_pidfd_);
  close_fd(pid_ns_);
  close_fd(net_ns_);
  close_fd(own_pid_ns_);
  close_fd(own_net_ns_);
}

bool Sandbox::enter() {
  return setns(pid_ns_, CLONE_NEWPID) == 0 && setns(net_ns_, CLONE_NEWNET) == 0;
}

void Sandbox::leave() {
  if (own_pid_ns_ >= 0) setns(own_pid_ns_, CLONE_NEWPID);
  if (own_net_ns_ >= 0) setns(own_net_ns_, CLONE_NEWNET);
}

pid_t Sandbox::fork() {
  if (!active()) return ::fork();
  if (!enter()) {
    const int error = errno;
    leave();
    errno = error;
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid == 0) return 0;
  const int error = errno;
  leave();
  errno = error;
  return pid;
}

}  // namespace netsim::shim
