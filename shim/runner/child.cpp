#include "child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "netsim/shim/program_kind.hpp"

namespace netsim::shim {
namespace {

std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : env)
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat info;
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  throw std::runtime_error("cannot run '" + name + "': no such program on PATH");
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The pool's descriptor in the child, which the shim reads from the environment.
constexpr int kRegionFd = 3;

[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int region_fd,
                             int output_fd, int error_fd, pid_t parent) {
  // `parent`: what getppid() reads while simrun lives (0 from inside the run's PID
  // namespace, whose parent is outside it).
  // Only async-signal-safe calls between fork and exec.
  setpgid(0, 0);  // a terminal's Ctrl-C reaches simrun alone; it stops the children
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  personality(ADDR_NO_RANDOMIZE);  // the same addresses on every run (Python's id())
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // exec keeps ignored signals, and Python ignores these two: a C program writing to
  // a closed connection must die of SIGPIPE as it would from a shell.
  signal(SIGPIPE, SIG_DFL);
  signal(SIGXFSZ, SIG_DFL);
  const int devnull = open("/dev/null", O_RDONLY);
  dup2(devnull, 0);
  dup2(output_fd, 1);
  dup2(output_fd, 2);
  // dup2 onto itself would leave simrun's close-on-exec flag on.
  if (region_fd == kRegionFd) fcntl(kRegionFd, F_SETFD, 0);
  dup2(region_fd, kRegionFd);
  // The exec status pipe stays open until exec (close-on-exec) to report a failure;
  // nothing else of simrun's is inherited.
  const int status_fd = kRegionFd + 1;
  dup2(error_fd, status_fd);
  fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  syscall(SYS_close_range, status_fd + 1, ~0U, 0);
  execve(path, argv, envp);
  const int err = errno;
  (void)!write(status_fd, &err, sizeof err);
  _exit(127);
}

void refuse_unreachable(const std::string& name, const std::string& path) {
  const ProgramKind kind = path_kind(
      AT_FDCWD, path.c_str(), [](int at, const char* file) { return openat(at, file, O_RDONLY | O_CLOEXEC); },
      [](int fd, void* buffer, unsigned long size, long offset) { return pread(fd, buffer, size, offset); },
      [](int fd) { close(fd); });
  if (const char* why = refusal(kind)) throw std::runtime_error("cannot run '" + name + "': " + why);
}

}  // namespace

Child start_child(const ChildSpec& spec) {
  std::vector<std::string> argv = spec.argv;
  const std::string path = find_program(argv.at(0), spec.env);
  refuse_unreachable(argv.at(0), path);
  std::vector<std::string> env;
  std::string preload = spec.shim_path;
  for (const auto& entry : spec.env) {
    if (entry.rfind("LD_PRELOAD=", 0) == 0) {
      if (entry.size() > 11) preload.append(":").append(entry, 11);
    } else if (entry.rfind(std::string(kRegionFdEnv) + "=", 0) != 0 &&
               entry.rfind(std::string(kRegionIndexEnv) + "=", 0) != 0) {
      env.push_back(entry);
    }
  }
  env.push_back("LD_PRELOAD=" + preload);
  env.push_back(std::string(kRegionFdEnv) + "=" + std::to_string(kRegionFd));
  env.push_back(std::string(kRegionIndexEnv) + "=" + std::to_string(spec.region_index));
  // Python's own buffers would hold output back from the transcript.
  env.push_back("PYTHONUNBUFFERED=1");
  std::vector<char*> argv_ptrs = pointers(argv);
  std::vector<char*> env_ptrs = pointers(env);

  Child child;
  int output[2];
  int status_pipe[2];
  if (pipe2(output, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("cannot make pipes: ") + strerror(errno));
  const bool sandboxed = spec.sandbox && spec.sandbox->active();
  const pid_t parent = sandboxed ? 0 : getpid();
  const pid_t pid = spec.sandbox ? spec.sandbox->fork() : fork();
  if (pid == 0)
    exec_child(path.c_str(), argv_ptrs.data(), env_ptrs.data(), spec.pool_fd, output[1], status_pipe[1], parent);
  close(output[1]);
  close(status_pipe[1]);
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
  int err = 0;
  const ssize_t got = read(status_pipe[0], &err, sizeof err);
  close(status_pipe[0]);
  child.pid = pid;
  child.ns_pid = sandboxed ? -1 : pid;
  child.output_fd = output[0];
  child.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (got == sizeof err) {
    siginfo_t info;
    waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
    release_child(child);
    throw std::runtime_error("cannot run '" + argv[0] + "': " + strerror(err));
  }
  return child;
}

pid_t pid_of(int pidfd) {
  FILE* info = fopen(("/proc/self/fdinfo/" + std::to_string(pidfd)).c_str(), "r");
  if (!info) return -1;
  char line[256];
  int pid = -1;
  while (fgets(line, sizeof line, info))
    if (sscanf(line, "Pid:\t%d", &pid) == 1) break;
  fclose(info);
  return pid;
}

void release_child(Child& child) {
  if (child.pidfd >= 0) close(child.pidfd);
  if (child.output_fd >= 0) close(child.output_fd);
  child = Child{};
}

}  // namespace netsim::shim
