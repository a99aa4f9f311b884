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

// What a helper process reports through a pipe: a pid, or -errno.
[[noreturn]] void report(int fd, long value) {
  (void)!write(fd, &value, sizeof value);
  _exit(0);
}

long take_report(pid_t helper, int fd) {
  long value = 0;
  ssize_t got;
  while ((got = read(fd, &value, sizeof value)) < 0 && errno == EINTR) {
  }
  close(fd);
  while (waitpid(helper, nullptr, 0) < 0 && errno == EINTR) {
  }
  return got == sizeof value ? value : -EPIPE;
}

// fork() for a helper: the new process is the simulator's child (CLONE_PARENT), as a
// fork of its own would be, but in the helper's namespaces.
long fork_for_parent() { return syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, nullptr, nullptr, 0); }

bool write_file(const char* path, const std::string& text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return written;
}

}  // namespace

Sandbox::Sandbox() {
  own_pid_ns_ = open_ns("/proc/thread-self/ns/pid");
  own_net_ns_ = open_ns("/proc/thread-self/ns/net");
  bool made = own_pid_ns_ >= 0 && own_net_ns_ >= 0 && unshare(CLONE_NEWPID | CLONE_NEWNET) == 0;
  // Not privileged here (not root): a user namespace grants it over namespaces of its own.
  const bool unprivileged = !made && errno == EPERM;
  if (unprivileged && make_in_user_namespace()) return;
  if (!made) {
    warning_ = std::string("cannot make the run's namespaces (") + (unprivileged ? "user namespace: " : "") +
               strerror(errno) +
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
  close_fd(user_ns_);
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

bool Sandbox::make_in_user_namespace() {
  // Formatted before the fork: the helper makes only async-signal-safe calls.
  const std::string uid_map = std::to_string(getuid()) + " " + std::to_string(getuid()) + " 1";
  const std::string gid_map = std::to_string(getgid()) + " " + std::to_string(getgid()) + " 1";
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) return false;
  const pid_t helper = ::fork();
  if (helper == 0) {
    close(channel[0]);
    // Without privilege over the parent namespace, a user namespace may map only its
    // maker's own ids, and its groups only once setgroups is denied.
    if (unshare(CLONE_NEWUSER) != 0 || !write_file("/proc/self/setgroups", "deny") ||
        !write_file("/proc/self/uid_map", uid_map) || !write_file("/proc/self/gid_map", gid_map) ||
        unshare(CLONE_NEWPID | CLONE_NEWNET) != 0)
      report(channel[1], -errno);
    const long init = fork_for_parent();
    if (init == 0) be_init();
    report(channel[1], init < 0 ? -errno : init);
  }
  close(channel[1]);
  if (helper < 0) {
    close(channel[0]);
    return false;
  }
  const long init = take_report(helper, channel[0]);
  if (init < 0) {
    errno = static_cast<int>(-init);
    return false;
  }
  const std::string ns = "/proc/" + std::to_string(init) + "/ns/";
  user_ns_ = open_ns(ns + "user");
  pid_ns_ = open_ns(ns + "pid");
  net_ns_ = open_ns(ns + "net");
  init_pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, init, 0));
  if (user_ns_ >= 0 && pid_ns_ >= 0 && net_ns_ >= 0 && init_pidfd_ >= 0) return true;
  const int error = errno;
  kill(static_cast<pid_t>(init), SIGKILL);
  waitpid(static_cast<pid_t>(init), nullptr, 0);
  close_fd(init_pidfd_);
  close_fd(user_ns_);
  close_fd(pid_ns_);
  close_fd(net_ns_);
  errno = error;
  return false;
}

pid_t Sandbox::fork_into_user_namespace() {
  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) return -1;
  const pid_t helper = ::fork();
  if (helper == 0) {
    close(channel[0]);
    // The helper, a fork of the simulator, has the privilege over the user namespace
    // that its maker's user has; the simulator, with other threads, could not enter it.
    if (setns(user_ns_, CLONE_NEWUSER) != 0 || setns(net_ns_, CLONE_NEWNET) != 0 ||
        setns(pid_ns_, CLONE_NEWPID) != 0)
      report(channel[1], -errno);
    const long child = fork_for_parent();
    if (child == 0) {
      close(channel[1]);
      return 0;
    }
    report(channel[1], child < 0 ? -errno : child);
  }
  close(channel[1]);
  if (helper < 0) {
    close(channel[0]);
    return -1;
  }
  const long child = take_report(helper, channel[0]);
  if (child < 0) {
    errno = static_cast<int>(-child);
    return -1;
  }
  return static_cast<pid_t>(child);
}

pid_t Sandbox::fork() {
  if (!active()) return ::fork();
  if (user_ns_ >= 0) return fork_into_user_namespace();
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
