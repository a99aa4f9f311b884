// Taking a request from the shared slot and giving the reply back (request.hpp). What
// each call carries is written next to the code that serves it (net_calls.cpp,
// runtime_calls.cpp, process_calls.cpp) and sent by shim/preload; the shapes below are
// what that shim can send, so anything else comes from a program that wrote into its
// slot itself.
#include "request.hpp"

#include <fmt/format.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <climits>
#include <cstring>

namespace netsim::shim {
namespace {

// sun_path's room at the end of the buffer.
constexpr std::size_t kUnixRoom = kSlotBuffer - kUnixNameAt;

// One read of a word the child may be rewriting: every check and every use after it
// sees the same value, the private copy's.
template <typename T>
T once(const T& shared) {
  return __atomic_load_n(&shared, __ATOMIC_RELAXED);
}

struct Shape {
  bool known = true;
  bool payload = false;   // the request's bytes [0, size) are the call's
  unsigned fds = 0;       // bit i: args[i] is a descriptor number
  int address = -1;       // args[address..+2]: an address, which may name a Unix socket
};

Shape shape_of(std::int64_t call) {
  switch (call) {
    case SYS_socket: return {.fds = 1u << 3};
    case SYS_socketpair: return {.fds = 1u << 3 | 1u << 4};
    case SYS_pipe2: return {.fds = 1u << 1 | 1u << 2};
    case SYS_bind:
    case SYS_connect: return {.fds = 1u << 0, .address = 1};
    case SYS_accept4: return {.fds = 1u << 0 | 1u << 2};
    case SYS_sendto: return {.payload = true, .fds = 1u << 0, .address = 3};
    case SYS_dup:
    case SYS_dup3: return {.fds = 1u << 0 | 1u << 1};
    case SYS_listen:
    case SYS_recvfrom:
    case SYS_shutdown:
    case SYS_close:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_setsockopt:
    case SYS_getsockopt:
    case SYS_fcntl:
    case SYS_ioctl: return {.fds = 1u << 0};
    case SYS_epoll_create1: return {.fds = 1u << 1};
    case SYS_epoll_ctl: return {.fds = 1u << 0 | 1u << 2};
    case SYS_epoll_wait: return {.fds = 1u << 0};
    case SYS_eventfd2:
    case SYS_timerfd_create: return {.fds = 1u << 2};
    case SYS_timerfd_settime:
    case SYS_timerfd_gettime: return {.fds = 1u << 0};
    case SYS_write:
    case SYS_poll:
    case kCallPollPart:
    case kCallResolve:
    case kCallReverseResolve:
    case kCallUnsupported: return {.payload = true};
    case SYS_unlink:
    case SYS_alarm:
    case SYS_setitimer:
    case SYS_getitimer:
    case SYS_nanosleep:
    case SYS_futex:
    case SYS_wait4:
    case SYS_kill:
    case SYS_setpgid:
    case SYS_getpgid:
    case SYS_setsid:
    case SYS_getsid:
    case kCallStart:
    case kCallThreadCreate:
    case kCallThreadAbandon:
    case kCallThreadExit:
    case kCallExit:
    case kCallFork:
    case kCallForked:
    case kCallExec: return {};
    default: return {.known = false};
  }
}

bool is_unix(std::int64_t a0) { return (a0 & 0xffff) == AF_UNIX; }

// The bytes of Unix name the request carries at kUnixNameAt, or -1 when that length is
// one no address has.
std::int64_t unix_name_length(const Slot& s, const Shape& shape) {
  if (s.call == SYS_unlink) return s.args[0] >= 1 && s.args[0] <= static_cast<std::int64_t>(kUnixRoom) ? s.args[0] : -1;
  if (shape.address < 0 || !is_unix(s.args[shape.address])) return 0;
  const auto length = static_cast<std::uint64_t>(s.args[shape.address]) >> 16;
  return length <= kUnixRoom ? static_cast<std::int64_t>(length) : -1;
}

// The rules of the calls whose arguments count or index something: what the shim
// never sends.
std::string check_arguments(const Slot& s, std::uint64_t size) {
  const std::int64_t* a = s.args;
  switch (s.call) {
    case SYS_sendto:
      if (static_cast<std::uint64_t>(a[1]) != size)
        return fmt::format("call {}, {} bytes to send with {} in the buffer", s.call, a[1], size);
      if (is_unix(a[3]) && size > kUnixNameAt)
        return fmt::format("call {}, size {} > {} with a Unix name", s.call, size, kUnixNameAt);
      return {};
    case SYS_recvfrom:
      if (a[1] < 0 || static_cast<std::uint64_t>(a[1]) > kSlotBuffer)
        return fmt::format("call {}, {} bytes to receive > {}", s.call, a[1], kSlotBuffer);
      return {};
    case SYS_poll:
    case kCallPollPart:
      if (a[0] < 0 || static_cast<std::uint64_t>(a[0]) > kPollPart)
        return fmt::format("call {}, {} descriptors > {}", s.call, a[0], kPollPart);
      if (static_cast<std::uint64_t>(a[0]) * sizeof(pollfd) != size)
        return fmt::format("call {}, {} descriptors in {} bytes", s.call, a[0], size);
      return {};
    case SYS_epoll_wait:
      if (a[1] < 1 || static_cast<std::uint64_t>(a[1]) > kSlotBuffer / sizeof(epoll_event))
        return fmt::format("call {}, {} events > {}", s.call, a[1], kSlotBuffer / sizeof(epoll_event));
      return {};
    case SYS_futex:
      if (a[1] != FUTEX_WAIT && a[1] != FUTEX_WAKE) return fmt::format("call {}, operation {}", s.call, a[1]);
      return {};
    case kCallResolve:
    case kCallUnsupported:
      if (size == 0) return fmt::format("call {}, an empty buffer where a string goes", s.call);
      return {};
    case kCallReverseResolve:
      if (a[0] != 4 && a[0] != 6) return fmt::format("call {}, address family {}", s.call, a[0]);
      if (size != 16) return fmt::format("call {}, an address of {} bytes", s.call, size);
      return {};
    case kCallThreadAbandon:
      if (a[0] < 1 || a[0] >= kMaxThreads)
        return fmt::format("call {}, thread index {} out of 1..{}", s.call, a[0], kMaxThreads - 1);
      return {};
    case kCallForked:
      if (a[0] < 0 || a[0] >= kMaxProcesses)
        return fmt::format("call {}, region index {} out of 0..{}", s.call, a[0], kMaxProcesses - 1);
      return {};
    default:
      return {};
  }
}

}  // namespace

std::string take_request(const Slot& shared, Slot& mine) {
  mine.call = once(shared.call);
  for (int i = 0; i < 6; ++i) mine.args[i] = once(shared.args[i]);
  const std::uint64_t size = once(shared.size);
  mine.size = 0;
  const Shape shape = shape_of(mine.call);
  if (!shape.known) return fmt::format("call {}, which the shim never sends", mine.call);
  if (size > kSlotBuffer) return fmt::format("call {}, size {} > {}", mine.call, size, kSlotBuffer);
  for (int i = 0; i < 6; ++i)
    if ((shape.fds >> i & 1) && (mine.args[i] < INT_MIN || mine.args[i] > INT_MAX))
      return fmt::format("call {}, descriptor {} out of range", mine.call, mine.args[i]);
  const std::int64_t name = unix_name_length(mine, shape);
  if (name < 0) return fmt::format("call {}, a Unix name longer than {} bytes or empty", mine.call, kUnixRoom);
  if (std::string problem = check_arguments(mine, size); !problem.empty()) return problem;
  if (shape.payload) {
    std::memcpy(mine.buffer, shared.buffer, size);
    mine.size = size;
  }
  if (name > 0) std::memcpy(mine.buffer + kUnixNameAt, shared.buffer + kUnixNameAt, static_cast<std::size_t>(name));
  // Strings are read up to their NUL: it must be there, in what was copied.
  if ((mine.call == kCallResolve || mine.call == kCallUnsupported) && mine.buffer[size - 1] != 0)
    return fmt::format("call {}, a string without its NUL", mine.call);
  return {};
}

void give_reply(const Slot& mine, Slot& shared) {
  shared.result = mine.result;
  shared.signal = mine.signal;
  for (int i = 0; i < 6; ++i) shared.args[i] = mine.args[i];
  switch (mine.call) {
    case SYS_recvfrom:
    case SYS_poll:
    case SYS_epoll_wait:
    case kCallResolve:
    case kCallReverseResolve:
    case kCallExec:
      std::memcpy(shared.buffer, mine.buffer, mine.size);
      shared.size = mine.size;
      break;
    default:
      shared.size = 0;
  }
  // Calls that answer with an address answer a Unix one's name at kUnixNameAt.
  switch (mine.call) {
    case SYS_accept4:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_recvfrom:
      if (is_unix(mine.args[3])) {
        const auto length = std::min<std::size_t>(static_cast<std::uint64_t>(mine.args[3]) >> 16, kUnixRoom);
        std::memcpy(shared.buffer + kUnixNameAt, mine.buffer + kUnixNameAt, length);
      }
      break;
    default:
      break;
  }
}

}  // namespace netsim::shim
