// The first layer of interception: libc's entry points, preloaded. Each is the system
// call it wraps, routed through dispatch(); calls that reach the kernel another way
// are caught by the seccomp trap (seccomp.cpp). Wrapping saves those a signal each.
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "calls.hpp"
#include "shim.hpp"

namespace {

// A wrapper for a call the table (calls.hpp) does not list, or lists as one the filter
// lets through when it is made another way (raw syscall(), libc's inside), does not
// compile: the wrappers cannot drift from the table or the filter.
template <long nr>
long call(long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) {
  static_assert(netsim::shim::intercepted(nr) != nullptr, "a wrapper for a call calls.hpp does not list");
  static_assert(netsim::shim::intercepted(nr)->trap != netsim::shim::Trap::never,
                "a wrapped call the filter does not trap");
  const long args[6] = {a0, a1, a2, a3, a4, a5};
  return netsim::shim::libc_result(netsim::shim::dispatch(nr, args));
}

template <typename T>
long n(T value) {
  return (long)value;
}

}  // namespace

#define NETSIM_WRAP_VA(name, nr)                          \
  extern "C" int name(int fd, int request, ...) {         \
    va_list ap;                                           \
    va_start(ap, request);                                \
    const long arg = va_arg(ap, long);                    \
    va_end(ap);                                           \
    return (int)call<nr>(fd, request, arg);               \
  }

extern "C" {

int socket(int domain, int type, int protocol) { return (int)call<SYS_socket>(domain, type, protocol); }
int socketpair(int domain, int type, int protocol, int sv[2]) {
  return (int)call<SYS_socketpair>(domain, type, protocol, n(sv));
}
int pipe(int fds[2]) { return (int)call<SYS_pipe2>(n(fds), 0); }
int pipe2(int fds[2], int flags) { return (int)call<SYS_pipe2>(n(fds), flags); }
int bind(int fd, const struct sockaddr* addr, socklen_t len) { return (int)call<SYS_bind>(fd, n(addr), len); }
int listen(int fd, int backlog) { return (int)call<SYS_listen>(fd, backlog); }
int accept(int fd, struct sockaddr* addr, socklen_t* len) { return (int)call<SYS_accept>(fd, n(addr), n(len)); }
int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  return (int)call<SYS_accept4>(fd, n(addr), n(len), flags);
}
int connect(int fd, const struct sockaddr* addr, socklen_t len) { return (int)call<SYS_connect>(fd, n(addr), len); }
ssize_t send(int fd, const void* buf, size_t len, int flags) { return call<SYS_sendto>(fd, n(buf), n(len), flags, 0, 0); }
ssize_t sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* addr, socklen_t alen) {
  return call<SYS_sendto>(fd, n(buf), n(len), flags, n(addr), alen);
}
ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) { return call<SYS_sendmsg>(fd, n(msg), flags); }
ssize_t recv(int fd, void* buf, size_t len, int flags) { return call<SYS_recvfrom>(fd, n(buf), n(len), flags, 0, 0); }
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* addr, socklen_t* alen) {
  return call<SYS_recvfrom>(fd, n(buf), n(len), flags, n(addr), n(alen));
}
ssize_t recvmsg(int fd, struct msghdr* msg, int flags) { return call<SYS_recvmsg>(fd, n(msg), flags); }
int shutdown(int fd, int how) { return (int)call<SYS_shutdown>(fd, how); }
int getsockname(int fd, struct sockaddr* addr, socklen_t* len) { return (int)call<SYS_getsockname>(fd, n(addr), n(len)); }
int getpeername(int fd, struct sockaddr* addr, socklen_t* len) { return (int)call<SYS_getpeername>(fd, n(addr), n(len)); }
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  return (int)call<SYS_setsockopt>(fd, level, name, n(value), len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  return (int)call<SYS_getsockopt>(fd, level, name, n(value), n(len));
}

ssize_t read(int fd, void* buf, size_t len) { return call<SYS_read>(fd, n(buf), n(len)); }
ssize_t write(int fd, const void* buf, size_t len) { return call<SYS_write>(fd, n(buf), n(len)); }
ssize_t readv(int fd, const struct iovec* iov, int count) { return call<SYS_readv>(fd, n(iov), count); }
ssize_t writev(int fd, const struct iovec* iov, int count) { return call<SYS_writev>(fd, n(iov), count); }
int close(int fd) { return (int)call<SYS_close>(fd); }
int dup(int fd) { return (int)call<SYS_dup>(fd); }
int dup2(int fd, int to) { return (int)call<SYS_dup2>(fd, to); }
int dup3(int fd, int to, int flags) { return (int)call<SYS_dup3>(fd, to, flags); }
NETSIM_WRAP_VA(fcntl, SYS_fcntl)
NETSIM_WRAP_VA(fcntl64, SYS_fcntl)

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  const long arg = va_arg(ap, long);
  va_end(ap);
  return (int)call<SYS_ioctl>(fd, n(request), arg);
}

int poll(struct pollfd* fds, nfds_t count, int timeout) { return (int)call<SYS_poll>(n(fds), n(count), timeout); }
int ppoll(struct pollfd* fds, nfds_t count, const struct timespec* timeout, const sigset_t* mask) {
  return (int)call<SYS_ppoll>(n(fds), n(count), n(timeout), n(mask), 8);
}
int select(int count, fd_set* r, fd_set* w, fd_set* e, struct timeval* timeout) {
  return (int)call<SYS_select>(count, n(r), n(w), n(e), n(timeout));
}
int pselect(int count, fd_set* r, fd_set* w, fd_set* e, const struct timespec* timeout, const sigset_t* mask) {
  // The kernel's sixth argument: the mask and its size, side by side.
  const long mask_and_size[2] = {n(mask), 8};
  return (int)call<SYS_pselect6>(count, n(r), n(w), n(e), n(timeout), mask ? n(mask_and_size) : 0);
}
int eventfd(unsigned int count, int flags) { return (int)call<SYS_eventfd2>(count, flags); }
// libc's own make their read and write inside libc, where only the trap sees them.
int eventfd_read(int fd, eventfd_t* value) {
  return call<SYS_read>(fd, n(value), sizeof *value) == (long)sizeof *value ? 0 : -1;
}
int eventfd_write(int fd, eventfd_t value) {
  return call<SYS_write>(fd, n(&value), sizeof value) == (long)sizeof value ? 0 : -1;
}
int epoll_create(int size) { return (int)call<SYS_epoll_create>(size); }
int epoll_create1(int flags) { return (int)call<SYS_epoll_create1>(flags); }
int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
  return (int)call<SYS_epoll_ctl>(epfd, op, fd, n(event));
}
int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
  return (int)call<SYS_epoll_wait>(epfd, n(events), max, timeout);
}
int epoll_pwait(int epfd, struct epoll_event* events, int max, int timeout, const sigset_t* mask) {
  return (int)call<SYS_epoll_pwait>(epfd, n(events), max, timeout, n(mask), 8);
}
// Before glibc's: for SIGEV_THREAD, glibc would start a thread that waits for the
// timer's signal in a call the simulation cannot answer; timers.cpp refuses it.
int timer_create(clockid_t clock, struct sigevent* event, timer_t* id) {
  int kernel_id = 0;
  const int r = (int)call<SYS_timer_create>(clock, n(event), n(&kernel_id));
  if (r == 0) *id = (timer_t)(long)kernel_id;  // glibc's timer_t of a signalling timer
  return r;
}

}  // extern "C"
