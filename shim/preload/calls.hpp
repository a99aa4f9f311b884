#pragma once
// Every system call the shim intercepts, listed once. The seccomp filter's lists
// (seccomp.cpp), dispatch()'s routing (dispatch.cpp) and the libc wrappers' checks
// (wrappers.cpp, paths.cpp: a wrapper for a call not listed here does not compile)
// all come from this table; tests/shim/test_call_table.cpp runs the filter against it.
//
// X(name, trap, route): SYS_name, when the filter traps it made from outside the
// shim's gate, and where dispatch() sends it.
#include <sys/syscall.h>

#include <cstddef>
#include <cstdint>

#include "netsim/shim/protocol.hpp"

namespace netsim::shim {

enum class Trap : std::uint8_t {
  always,       // ld.so never makes these: an exec'ed image reaches the shim alive
  on_fd,        // args[0] is a descriptor outside the loader's window (channel.hpp)
  on_fd_at,     // the same, unless args[0] is AT_FDCWD (stat() of a path)
  process_clone,  // clone() without CLONE_THREAD (threads come from pthread_create)
  never,        // wrapped in libc only: made any other way, it is made for real
};

enum class Route : std::uint8_t {
  runtime,  // the runtime's own concerns (time, threads, processes, timers, paths...)
  socket,   // makes or takes a socket; -ENOTSOCK on anything else
  poll,     // readiness: poll, select, epoll
  fd,       // args[0] is a descriptor, which may be a simulated one
};

#define NETSIM_CALLS(X)                                                                  \
  X(socket, always, socket) X(socketpair, always, socket) X(bind, always, socket)         \
  X(listen, always, socket) X(accept, always, socket) X(accept4, always, socket)          \
  X(connect, always, socket) X(sendto, always, socket) X(recvfrom, always, socket)        \
  X(sendmsg, always, socket) X(recvmsg, always, socket) X(sendmmsg, always, socket)       \
  X(recvmmsg, always, socket) X(shutdown, always, socket) X(getsockname, always, socket)  \
  X(getpeername, always, socket) X(setsockopt, always, socket)                            \
  X(getsockopt, always, socket) X(pipe, always, socket) X(pipe2, always, socket)          \
  X(poll, always, poll) X(ppoll, always, poll) X(select, always, poll)                    \
  X(pselect6, always, poll) X(epoll_create, always, poll) X(epoll_create1, always, poll)  \
  X(epoll_ctl, always, poll) X(epoll_wait, always, poll) X(epoll_pwait, always, poll)     \
  X(epoll_pwait2, always, poll)                                                           \
  X(read, on_fd, fd) X(write, on_fd, fd) X(readv, on_fd, fd) X(writev, on_fd, fd)         \
  X(pread64, on_fd, fd) X(pwrite64, on_fd, fd) X(preadv, on_fd, fd)                       \
  X(pwritev, on_fd, fd) X(preadv2, on_fd, fd) X(pwritev2, on_fd, fd) X(lseek, on_fd, fd)  \
  X(close, on_fd, fd) X(dup, on_fd, fd) X(dup2, on_fd, fd) X(dup3, on_fd, fd)             \
  X(fcntl, on_fd, fd) X(ioctl, on_fd, fd) X(fstat, on_fd, fd) X(sendfile, on_fd, fd)      \
  X(newfstatat, on_fd_at, fd) X(statx, on_fd_at, fd)                                      \
  X(futex, always, runtime) X(nanosleep, always, runtime)                                 \
  X(clock_nanosleep, always, runtime) X(clock_gettime, always, runtime)                   \
  X(gettimeofday, always, runtime) X(time, always, runtime) X(getrandom, always, runtime) \
  X(uname, always, runtime) X(sched_getaffinity, always, runtime)                         \
  X(clone, process_clone, runtime) X(clone3, always, runtime) X(fork, always, runtime)    \
  X(vfork, always, runtime) X(execve, always, runtime) X(execveat, always, runtime)       \
  X(rt_sigprocmask, always, runtime) X(rt_sigaction, always, runtime)                     \
  X(exit, always, runtime) X(exit_group, always, runtime) X(getpid, always, runtime)      \
  X(getppid, always, runtime) X(gettid, always, runtime) X(kill, always, runtime)         \
  X(tgkill, always, runtime) X(tkill, always, runtime)                                    \
  X(rt_sigqueueinfo, always, runtime) X(rt_tgsigqueueinfo, always, runtime)              \
  X(alarm, always, runtime) X(setitimer, always, runtime) X(getitimer, always, runtime)   \
  X(timer_create, always, runtime) X(timer_settime, always, runtime)                      \
  X(timer_gettime, always, runtime) X(timer_getoverrun, always, runtime)                  \
  X(timer_delete, always, runtime) X(timerfd_create, always, runtime)                     \
  X(timerfd_settime, always, runtime) X(timerfd_gettime, always, runtime)                 \
  X(wait4, always, runtime) X(waitid, always, runtime) X(close_range, always, runtime)    \
  X(eventfd, always, runtime) X(eventfd2, always, runtime) X(setpgid, always, runtime)    \
  X(getpgid, always, runtime) X(getpgrp, always, runtime) X(setsid, always, runtime)      \
  X(getsid, always, runtime) X(unlink, never, runtime) X(unlinkat, never, runtime)

struct InterceptedCall {
  long nr;
  const char* name;
  Trap trap;
  Route route;
};

inline constexpr InterceptedCall kCalls[] = {
#define NETSIM_CALL_ENTRY(name, trap, route) {SYS_##name, #name, Trap::trap, Route::route},
    NETSIM_CALLS(NETSIM_CALL_ENTRY)
#undef NETSIM_CALL_ENTRY
};

// The entry of call `nr`, or null when the shim leaves it alone.
constexpr const InterceptedCall* intercepted(long nr) {
  for (const InterceptedCall& call : kCalls)
    if (call.nr == nr) return &call;
  return nullptr;
}

// Where dispatch() sends call `nr` (a lookup per call, so by number, not by search);
// false for a call the shim leaves alone.
struct Routes {
  bool listed[kMaxLinuxCall];
  Route route[kMaxLinuxCall];
};
constexpr Routes make_routes() {
  Routes routes{};
  for (const InterceptedCall& call : kCalls) {
    routes.listed[call.nr] = true;
    routes.route[call.nr] = call.route;
  }
  return routes;
}
inline constexpr Routes kRoutes = make_routes();
constexpr bool routed(long nr, Route route) {
  return nr >= 0 && nr < kMaxLinuxCall && kRoutes.listed[nr] && kRoutes.route[nr] == route;
}

// How many calls the filter traps as `trap`, and the calls themselves, for its lists.
constexpr std::size_t count_trapped(Trap trap) {
  std::size_t n = 0;
  for (const InterceptedCall& call : kCalls) n += call.trap == trap;
  return n;
}
template <Trap trap>
constexpr auto trapped() {
  struct List {
    long nr[count_trapped(trap)];
  } list{};
  std::size_t n = 0;
  for (const InterceptedCall& call : kCalls)
    if (call.trap == trap) list.nr[n++] = call.nr;
  return list;
}

}  // namespace netsim::shim
