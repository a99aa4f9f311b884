#pragma once
// The messages of the channel (channel.hpp), as data: for every call the shim sends,
// what its request carries and what its reply carries. The shim (shim/preload)
// encodes requests and decodes replies with these, the runner (shim/runner/request.cpp)
// checks and copies requests and replies by them, once, where a request enters: the
// slot is memory a program can write, so anything this table does not describe is a
// malformed request.
//
// A request is s.call (a Linux system call number or a Call), s.args, and s.size
// bytes of s.buffer; "->" below is the reply: s.result (>= 0, or -errno), and where
// a call says so, s.args and s.size bytes of s.buffer.
//
//   SYS_socket      domain, type, protocol, at (the placeholder's number)  -> at
//   SYS_socketpair  AF_UNIX, type, protocol, at0, at1                     -> 0
//   SYS_pipe2       flags (O_NONBLOCK, O_CLOEXEC), at0 (read end), at1    -> 0
//   SYS_bind, SYS_connect   fd, address (args 1..3)                       -> 0
//   SYS_listen      fd, backlog                                           -> 0
//   SYS_accept4     fd, flags (SOCK_NONBLOCK), at         -> fd; args 3..5: the peer
//   SYS_sendto      fd, size, flags, address (args 3..5; 0: none); buffer: the bytes.
//                   With a Unix address or none, args[4] is the message's whole
//                   length: a datagram larger than the chunk is EMSGSIZE  -> bytes sent
//   SYS_recvfrom    fd, size (<= kSlotBuffer), flags, want_address, want_msg_flags
//                   -> bytes (MSG_TRUNC on a datagram socket: its full length);
//                   buffer: the bytes copied; args[1]: msg_flags; args 3..5: the
//                   sender (a datagram socket's only, as Linux)
//   SYS_shutdown    fd, how;  SYS_close  fd;  SYS_listen  fd, backlog     -> 0
//   SYS_dup         fd, at                                                -> at
//   SYS_dup3        old, new, new_is_open (the simulator closes it first) -> new
//   SYS_getsockname, SYS_getpeername  fd                  -> 0; args 3..5: the address
//   SYS_setsockopt  fd, level, name, value (an int: the shim folds structs) -> 0
//   SYS_getsockopt  fd, level, name                        -> 0; args[3]: the value
//   SYS_fcntl       fd, F_GETFL | F_SETFL, flags           -> O_RDWR [| O_NONBLOCK] | 0
//   SYS_ioctl       fd, FIONBIO, on                         -> 0
//                   fd, FIONREAD | SIOCOUTQ                 -> the bytes (pure reads)
//   SYS_fstat       fd                                      -> its st_mode
//   SYS_lseek       fd                                      -> 0, or -ESPIPE
//   SYS_unlink      length (1..108: the path at kUnixNameAt) -> 0, or -ENOENT when no
//                   simulated socket was bound there (the shim asks the real kernel)
//   SYS_poll        nfds (<= kPollPart), timeout ns (< 0: none); buffer: struct
//                   pollfd[nfds], the list's last part -> the count; buffer: the
//                   ready entries, each {fd = its index in the whole list, 0, revents}
//   kCallPollPart   nfds; buffer: struct pollfd[nfds]       -> 0
//   SYS_epoll_create1  flags, at                            -> the fd (= at)
//   SYS_epoll_ctl   epfd, op, fd, events, data              -> 0
//   SYS_epoll_wait  epfd, maxevents (1..what the buffer holds), timeout ns (< 0:
//                   none)                  -> the count; buffer: struct epoll_event[count]
//   SYS_write       stream (1, 2); buffer: the bytes (the transcript's)
//   SYS_futex       key, FUTEX_WAIT | FUTEX_WAKE, ...; the others as channel.hpp and
//                   the runner's runtime_calls.cpp / process_calls.cpp say.
//
// An address is three arguments: A0 = family | port << 16 (host order), A1 and A2 the
// 16 address bytes (IPv4 in the first four); A0 = 0 is none. A Unix one is A0 =
// AF_UNIX | length << 16 with its sun_path bytes (a path without its NUL, or a NUL
// and an abstract name; length 0: unnamed) at kUnixNameAt in the buffer, both ways.
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstdint>
#include <cstring>

#include "netsim/shim/channel.hpp"

namespace netsim::shim {

// sun_path's room at the end of the buffer.
inline constexpr std::size_t kUnixRoom = kSlotBuffer - kUnixNameAt;

struct Message {
  std::int64_t call;
  // The request.
  bool payload = false;        // buffer [0, size) is the call's
  std::uint8_t fds = 0;        // bit i: args[i] is a descriptor number (an int)
  std::int8_t address = -1;    // args[address..+2]: an address
  std::int8_t size_arg = -1;   // args[size_arg] == size: the bytes to send
  std::int8_t count_arg = -1;  // args[count_arg] struct pollfd make up the buffer
  std::int8_t limit_arg = -1;  // args[limit_arg] in 0..kSlotBuffer: bytes to receive
  std::int8_t unix_length_arg = -1;  // args[i] in 1..kUnixRoom: a Unix name's bytes
  std::int8_t range_arg = -1;  // args[range_arg] in lo..hi
  std::int64_t lo = 0, hi = 0;
  bool ends = false;           // only lo or hi, nothing in between
  std::uint32_t exact_size = 0;  // when not 0, the buffer's size
  bool string = false;         // the buffer is a NUL-terminated string
  // The reply.
  bool reply_payload = false;  // buffer [0, size)
  bool reply_address = false;  // args 3..5: an address
};

inline constexpr Message kMessages[] = {
    {.call = SYS_socket, .fds = 1u << 3},
    {.call = SYS_socketpair, .fds = 1u << 3 | 1u << 4},
    {.call = SYS_pipe2, .fds = 1u << 1 | 1u << 2},
    {.call = SYS_bind, .fds = 1u << 0, .address = 1},
    {.call = SYS_connect, .fds = 1u << 0, .address = 1},
    {.call = SYS_accept4, .fds = 1u << 0 | 1u << 2, .reply_address = true},
    {.call = SYS_sendto, .payload = true, .fds = 1u << 0, .address = 3, .size_arg = 1},
    {.call = SYS_recvfrom, .fds = 1u << 0, .limit_arg = 1, .reply_payload = true, .reply_address = true},
    {.call = SYS_dup, .fds = 1u << 0 | 1u << 1},
    {.call = SYS_dup3, .fds = 1u << 0 | 1u << 1},
    {.call = SYS_listen, .fds = 1u << 0},
    {.call = SYS_shutdown, .fds = 1u << 0},
    {.call = SYS_close, .fds = 1u << 0},
    {.call = SYS_getsockname, .fds = 1u << 0, .reply_address = true},
    {.call = SYS_getpeername, .fds = 1u << 0, .reply_address = true},
    {.call = SYS_setsockopt, .fds = 1u << 0},
    {.call = SYS_getsockopt, .fds = 1u << 0},
    {.call = SYS_fcntl, .fds = 1u << 0},
    {.call = SYS_ioctl, .fds = 1u << 0},
    {.call = SYS_fstat, .fds = 1u << 0},
    {.call = SYS_lseek, .fds = 1u << 0},
    {.call = SYS_epoll_create1, .fds = 1u << 1},
    {.call = SYS_epoll_ctl, .fds = 1u << 0 | 1u << 2},
    {.call = SYS_epoll_wait, .fds = 1u << 0, .range_arg = 1, .lo = 1, .hi = kSlotBuffer / sizeof(epoll_event),
     .reply_payload = true},
    {.call = SYS_eventfd2, .fds = 1u << 2},
    {.call = SYS_timerfd_create, .fds = 1u << 2},
    {.call = SYS_timerfd_settime, .fds = 1u << 0},
    {.call = SYS_timerfd_gettime, .fds = 1u << 0},
    {.call = SYS_write, .payload = true},
    {.call = SYS_poll, .payload = true, .count_arg = 0, .reply_payload = true},
    {.call = kCallPollPart, .payload = true, .count_arg = 0},
    {.call = kCallResolve, .payload = true, .string = true, .reply_payload = true},
    {.call = kCallReverseResolve, .payload = true, .range_arg = 0, .lo = 4, .hi = 6, .ends = true, .exact_size = 16,
     .reply_payload = true},
    {.call = kCallUnsupported, .payload = true, .string = true},
    {.call = SYS_unlink, .unix_length_arg = 0},
    {.call = SYS_futex, .range_arg = 1, .lo = FUTEX_WAIT, .hi = FUTEX_WAKE},
    {.call = SYS_alarm},
    {.call = SYS_setitimer},
    {.call = SYS_getitimer},
    {.call = SYS_timer_create},
    {.call = SYS_timer_settime},
    {.call = SYS_timer_gettime},
    {.call = SYS_timer_getoverrun},
    {.call = SYS_timer_delete},
    {.call = SYS_nanosleep},
    {.call = SYS_wait4},
    {.call = SYS_kill},
    {.call = SYS_setpgid},
    {.call = SYS_getpgid},
    {.call = SYS_setsid},
    {.call = SYS_getsid},
    {.call = kCallStart},
    {.call = kCallThreadCreate},
    {.call = kCallThreadAbandon, .range_arg = 0, .lo = 1, .hi = kMaxThreads - 1},
    {.call = kCallThreadExit},
    {.call = kCallExit},
    {.call = kCallFork},
    {.call = kCallForked, .range_arg = 0, .lo = 0, .hi = kMaxProcesses - 1},
    {.call = kCallExec, .reply_payload = true},
};

// The message of `call`, or null for a call no shim sends. Looked up twice per round
// trip (the request, the reply): by index, not by search. Linux's numbers lie below
// kMaxLinuxCall, the Calls from kCallStart on.
inline constexpr std::int64_t kMaxLinuxCall = 512;
inline constexpr std::int64_t kOwnCalls = kCallPollPart - kCallStart + 1;
struct MessageIndex {
  const Message* of[kMaxLinuxCall + kOwnCalls];
};
constexpr std::int64_t message_slot(std::int64_t call) {
  if (call >= 0 && call < kMaxLinuxCall) return call;
  if (call >= kCallStart && call <= kCallPollPart) return kMaxLinuxCall + call - kCallStart;
  return -1;
}
constexpr MessageIndex make_message_index() {
  MessageIndex index{};
  for (const Message& message : kMessages) index.of[message_slot(message.call)] = &message;
  return index;
}
inline constexpr MessageIndex kMessageIndex = make_message_index();
constexpr const Message* message_of(std::int64_t call) {
  const std::int64_t slot = message_slot(call);
  return slot < 0 ? nullptr : kMessageIndex.of[slot];
}

// ---------------------------------------------------------------- addresses

inline int address_family(const std::int64_t* w) { return static_cast<int>(w[0] & 0xffff); }
inline bool is_unix_address(const std::int64_t* w) { return address_family(w) == AF_UNIX; }
// The port of an IP address, the name's length of a Unix one.
inline unsigned address_port(const std::int64_t* w) { return static_cast<unsigned>((w[0] >> 16) & 0xffff); }

// An IP address: `size` (4 or 16) bytes of address.
inline void encode_ip_address(std::int64_t* w, int family, unsigned port, const void* bytes, std::size_t size) {
  w[0] = family | static_cast<std::int64_t>(port) << 16;
  w[1] = w[2] = 0;
  std::memcpy(&w[1], bytes, size);
}
// A Unix address: its name goes to `name_room` (the buffer at kUnixNameAt).
inline void encode_unix_address(std::int64_t* w, const void* name, std::size_t length, unsigned char* name_room) {
  if (length > kUnixRoom) length = kUnixRoom;
  w[0] = AF_UNIX | static_cast<std::int64_t>(length) << 16;
  w[1] = w[2] = 0;
  std::memcpy(name_room, name, length);
}
inline void encode_no_address(std::int64_t* w) { w[0] = w[1] = w[2] = 0; }

// The bytes of Unix name a request's or reply's address carries at kUnixNameAt; -1
// when the length is one no address has.
inline std::int64_t unix_name_length(const std::int64_t* w) {
  if (!is_unix_address(w)) return 0;
  const auto length = static_cast<std::uint64_t>(w[0]) >> 16;
  return length <= kUnixRoom ? static_cast<std::int64_t>(length) : -1;
}

}  // namespace netsim::shim
