// Socket calls on simulated descriptors: the shim's side. Each call becomes one round
// trip on the calling thread's slot; the simulator's side is shim/runner/net_calls.cpp.
// What travels, per call, and the addresses' encoding: protocol.hpp.
//
// read/readv/recv/recvmsg/recvmmsg all travel as SYS_recvfrom, write/writev/send/
// sendmsg/sendmmsg and sendfile as SYS_sendto. Payloads larger than the slot are
// split here: a send loops (until everything is sent, or up to the first short or
// failed chunk), a receive is clamped to kSlotBuffer (Linux may return less than
// asked too). Answered here without a round trip: FD_CLOEXEC (kept on the
// placeholder), pread/pwrite (ESPIPE).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <linux/sockios.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstddef>
#include <cstring>

#include "netsim/shim/protocol.hpp"
#include "shim.hpp"

namespace netsim::shim {

namespace {

// ---------------------------------------------------------------- addresses

constexpr long kMaxSockaddr = sizeof(sockaddr_storage);
constexpr long kSunPath = offsetof(sockaddr_un, sun_path);

Slot& slot() { return *my_slot(); }

unsigned char* unix_name() { return slot().buffer + kUnixNameAt; }

// unix_validate_addr() and unix_mkname_bsd(): a path ends at its first NUL, an
// abstract name takes the whole length. Only bind() may name nothing (autobind).
long pack_unix(const void* addr, long len, std::int64_t* w, bool for_bind) {
  if (len == kSunPath && for_bind) {
    encode_unix_address(w, "", 0, unix_name());
    return 0;
  }
  if (len <= kSunPath || len > static_cast<long>(sizeof(sockaddr_un))) return -EINVAL;
  const char* path = static_cast<const char*>(addr) + kSunPath;
  long n = len - kSunPath;
  if (path[0] != '\0') n = static_cast<long>(strnlen(path, static_cast<std::size_t>(n)));
  encode_unix_address(w, path, static_cast<std::size_t>(n), unix_name());
  return 0;
}

// Reads a user's sockaddr into the wire form, with Linux's checks in Linux's order
// (length first, then family). AF_UNSPEC with the IPv4 wildcard is AF_INET for bind(),
// a compatibility rule of inet_bind().
long pack_address(const void* addr, long len, std::int64_t* w, bool for_bind) {
  if (len < 0 || len > kMaxSockaddr) return -EINVAL;
  if (addr == nullptr) return len ? -EFAULT : -EINVAL;
  if (len < static_cast<long>(sizeof(sa_family_t))) return -EINVAL;
  sa_family_t family;
  std::memcpy(&family, addr, sizeof family);
  encode_no_address(w);
  if (family == AF_UNIX) return pack_unix(addr, len, w, for_bind);
  if (family == AF_INET || (family == AF_UNSPEC && for_bind)) {
    if (len < static_cast<long>(sizeof(sockaddr_in))) return -EINVAL;
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    if (family == AF_UNSPEC && in.sin_addr.s_addr != htonl(INADDR_ANY)) return -EAFNOSUPPORT;
    encode_ip_address(w, AF_INET, ntohs(in.sin_port), &in.sin_addr, 4);
    return 0;
  }
  if (family == AF_INET6) {
    // Linux takes the RFC 2133 size, without sin6_scope_id.
    if (len < 24) return -EINVAL;
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, static_cast<std::size_t>(len) < sizeof in6 ? len : sizeof in6);
    encode_ip_address(w, AF_INET6, ntohs(in6.sin6_port), &in6.sin6_addr, 16);
    return 0;
  }
  return -EAFNOSUPPORT;
}

// Builds the sockaddr a wire address stands for; returns its size (0: none).
unsigned unpack_address(const std::int64_t* w, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  const int family = address_family(w);
  const auto port = htons(static_cast<std::uint16_t>(address_port(w)));
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = port;
    std::memcpy(&in->sin_addr, &w[1], 4);
    return sizeof(sockaddr_in);
  }
  if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = port;
    std::memcpy(&in6->sin6_addr, &w[1], 16);
    return sizeof(sockaddr_in6);
  }
  if (family == AF_UNIX) {
    // As Linux reports it: a path with its NUL, an abstract name as it was bound.
    const auto n = static_cast<std::size_t>(address_port(w));
    auto* un = reinterpret_cast<sockaddr_un*>(&out);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, unix_name(), n);
    return static_cast<unsigned>(kSunPath + n + (n > 0 && un->sun_path[0] != '\0' ? 1 : 0));
  }
  return 0;
}

// As Linux's move_addr_to_user(): the address truncated to the caller's room, the
// length set to the full size.
long give_address(const std::int64_t* w, void* addr, socklen_t* len) {
  if (addr == nullptr) return 0;
  if (len == nullptr) return -EFAULT;
  sockaddr_storage storage;
  const unsigned size = unpack_address(w, storage);
  const unsigned room = *len;
  std::memcpy(addr, &storage, room < size ? room : size);
  *len = size;
  return 0;
}

// A negative length is EINVAL. Linux finds out only when it copies the address out,
// after the data is taken; checked before the call here, so that none is lost.
long check_address_room(const void* addr, const socklen_t* len) {
  if (addr == nullptr) return 0;
  if (len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
  return 0;
}

// ---------------------------------------------------------------- helpers

// FD_CLOEXEC lives on the placeholder: exec() closes it, as it would the socket.
void set_cloexec(long fd, bool on) { raw(SYS_fcntl, fd, F_SETFD, on ? FD_CLOEXEC : 0); }

// A real descriptor that is not a simulated socket: the answer a socket call gets.
long not_a_socket(long fd) {
  if (fd_kind(fd) == FdKind::socket) return 0;
  return raw(SYS_fcntl, fd, F_GETFD) < 0 ? -EBADF : -ENOTSOCK;
}

// A send that met a closed connection raises SIGPIPE, as Linux's sk_stream_error()
// does, unless the caller said MSG_NOSIGNAL (Python ignores SIGPIPE; C programs die).
void maybe_sigpipe(long r, int flags) {
  if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
    raw(SYS_tgkill, raw(SYS_getpid), raw(SYS_gettid), SIGPIPE);
}

// Walks a caller's iovecs without rescanning them for every chunk.
struct Cursor {
  const iovec* iov;
  long count;
  long index = 0;
  std::size_t offset = 0;

  void gather(unsigned char* out, std::size_t n) {
    while (n > 0 && index < count) {
      const std::size_t left = iov[index].iov_len - offset;
      const std::size_t take = left < n ? left : n;
      std::memcpy(out, static_cast<const unsigned char*>(iov[index].iov_base) + offset, take);
      out += take;
      n -= take;
      offset += take;
      if (offset == iov[index].iov_len) {
        ++index;
        offset = 0;
      }
    }
  }
  void scatter(const unsigned char* in, std::size_t n) {
    while (n > 0 && index < count) {
      const std::size_t left = iov[index].iov_len - offset;
      const std::size_t take = left < n ? left : n;
      std::memcpy(static_cast<unsigned char*>(iov[index].iov_base) + offset, in, take);
      in += take;
      n -= take;
      offset += take;
      if (offset == iov[index].iov_len) {
        ++index;
        offset = 0;
      }
    }
  }
};

// The total length of an iovec array, with readv()/sendmsg()'s checks.
long iov_total(const iovec* iov, long count, std::size_t& total) {
  if (count < 0 || count > IOV_MAX) return -EINVAL;
  if (count > 0 && iov == nullptr) return -EFAULT;
  total = 0;
  for (long i = 0; i < count; ++i) {
    if (iov[i].iov_len > static_cast<std::size_t>(SSIZE_MAX) - total) return -EINVAL;
    total += iov[i].iov_len;
  }
  return 0;
}

// ---------------------------------------------------------------- sending and receiving

// Sends `total` bytes from the iovecs, in slot-sized chunks. A blocking stream send
// goes on until everything is sent; any chunk the simulator takes only in part (a
// non-blocking socket, a signal, an error after progress) ends it, as Linux returns
// what it sent. A datagram larger than a chunk fails on its first one with EMSGSIZE,
// as no datagram is larger than the slot.
long send_iov(long fd, const iovec* iov, long count, std::size_t total, int flags,
              const std::int64_t* to) {
  Slot& s = slot();
  Cursor cursor{iov, count};
  const bool unix_to = to && is_unix_address(to);
  const std::size_t room = unix_to ? kUnixNameAt : kSlotBuffer;
  std::size_t sent = 0;
  for (;;) {
    const std::size_t n = total - sent < room ? total - sent : room;
    cursor.gather(s.buffer, n);
    const long a1 = to && !unix_to ? to[1] : static_cast<long>(total);
    set_call(s, SYS_sendto, fd, static_cast<long>(n), flags, to ? to[0] : 0, a1,
             to && !unix_to ? to[2] : 0);
    s.size = n;
    const long r = forward(s);
    if (r < 0) {
      if (sent) return static_cast<long>(sent);
      maybe_sigpipe(r, flags);
      return r;
    }
    sent += static_cast<std::size_t>(r);
    if (static_cast<std::size_t>(r) < n) return static_cast<long>(sent);
    if (sent >= total) return static_cast<long>(sent);
  }
}

long send_buffer(long fd, const void* data, std::size_t size, int flags, const std::int64_t* to) {
  const iovec one{const_cast<void*>(data), size};
  return send_iov(fd, &one, 1, size, flags, to);
}

// Receives at most `total` bytes (clamped to the slot) into the iovecs. MSG_WAITALL
// on a stream goes on chunk by chunk as Linux would wait for the whole length.
// `from`/`from_len`: the sender, as recvfrom() writes it (nothing for streams);
// `msg_flags`: recvmsg()'s MSG_TRUNC.
long recv_iov(long fd, const iovec* iov, long count, std::size_t total, int flags, void* from,
              socklen_t* from_len, int* msg_flags) {
  if (const long err = check_address_room(from, from_len)) return err;
  Slot& s = slot();
  Cursor cursor{iov, count};
  const bool wait_all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
  std::size_t got = 0;
  for (;;) {
    const std::size_t n = total - got < kSlotBuffer ? total - got : kSlotBuffer;
    set_call(s, SYS_recvfrom, fd, static_cast<long>(n), flags, from != nullptr,
             msg_flags != nullptr);
    const long r = forward(s);
    if (r < 0) return got ? static_cast<long>(got) : r;
    const std::size_t copied = s.size < n ? s.size : n;
    cursor.scatter(s.buffer, copied);
    if (got == 0) {
      if (msg_flags) *msg_flags = static_cast<int>(s.args[1]);
      if (const long err = give_address(&s.args[3], from, from_len)) return err;
    }
    got += static_cast<std::size_t>(r);
    // A datagram, a short read, the end of the stream or a full request: done.
    if (!wait_all || r == 0 || static_cast<std::size_t>(r) < n || got >= total)
      return static_cast<long>(got);
  }
}

long recv_buffer(long fd, void* data, std::size_t size, int flags, void* from, socklen_t* from_len) {
  const iovec one{data, size};
  return recv_iov(fd, &one, 1, size, flags, from, from_len, nullptr);
}

// ---------------------------------------------------------------- the calls

long do_socket(long domain, long type, long protocol) {
  if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  const long kind = type & 0xf;
  if (domain == AF_UNIX && kind == SOCK_SEQPACKET)
    return unsupported("socket(AF_UNIX, SOCK_SEQPACKET) is not simulated");
  if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) return -EAFNOSUPPORT;
  if (kind == SOCK_RAW) return unsupported("socket(SOCK_RAW): raw sockets are not simulated");
  const long fd = reserve_fd(FdKind::socket);
  if (fd < 0) return fd;
  set_cloexec(fd, type & SOCK_CLOEXEC);
  Slot& s = slot();
  set_call(s, SYS_socket, domain, type, protocol, fd);
  const long r = forward(s);
  if (r < 0) release_fd(fd);
  return r;
}

// Two connected descriptors made by one call: socketpair(AF_UNIX) and
// pipes (the simulator makes a pipe of a socket pair).
long make_pair(long call, long args0, long args1, long args2, long cloexec, int* sv) {
  if (sv == nullptr) return -EFAULT;
  const long a = reserve_fd(FdKind::socket);
  if (a < 0) return a;
  const long b = reserve_fd(FdKind::socket);
  if (b < 0) {
    release_fd(a);
    return b;
  }
  set_cloexec(a, cloexec);
  set_cloexec(b, cloexec);
  Slot& s = slot();
  if (call == SYS_socketpair)
    set_call(s, call, args0, args1, args2, a, b);
  else
    set_call(s, call, args0, a, b);
  const long r = forward(s);
  if (r < 0) {
    release_fd(a);
    release_fd(b);
    return r;
  }
  sv[0] = static_cast<int>(a);
  sv[1] = static_cast<int>(b);
  return 0;
}

long do_socketpair(long domain, long type, long protocol, int* sv) {
  if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  const long kind = type & 0xf;
  if (domain == AF_INET || domain == AF_INET6) return -EOPNOTSUPP;
  if (domain != AF_UNIX) return -EAFNOSUPPORT;
  if (kind == SOCK_SEQPACKET) return unsupported("socketpair(AF_UNIX, SOCK_SEQPACKET) is not simulated");
  if (kind != SOCK_STREAM && kind != SOCK_DGRAM) return -ESOCKTNOSUPPORT;
  if (protocol != 0) return -EPROTONOSUPPORT;
  return make_pair(SYS_socketpair, domain, type, protocol, type & SOCK_CLOEXEC, sv);
}

// O_NONBLOCK and O_CLOEXEC have SOCK_NONBLOCK's and SOCK_CLOEXEC's values on Linux.
long do_pipe(long flags, int* fds) {
  if (flags & ~(O_NONBLOCK | O_CLOEXEC)) return -EINVAL;
  return make_pair(SYS_pipe2, flags, 0, 0, flags & O_CLOEXEC, fds);
}

long do_bind_connect(long nr, long fd, const void* addr, long len) {
  std::int64_t w[3];
  if (nr == SYS_connect && addr && len >= static_cast<long>(sizeof(sa_family_t))) {
    sa_family_t family;
    std::memcpy(&family, addr, sizeof family);
    if (family == AF_UNSPEC)
      return unsupported("connect(AF_UNSPEC): dissolving a socket's association is not simulated");
  }
  if (const long err = pack_address(addr, len, w, nr == SYS_bind)) return err;
  Slot& s = slot();
  set_call(s, nr, fd, w[0], w[1], w[2]);
  return forward(s);
}

long do_accept(long fd, void* addr, socklen_t* len, long flags) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  if (const long err = check_address_room(addr, len)) return err;
  // The number is taken before the call, as the simulator installs the socket at it.
  const long at = reserve_fd(FdKind::socket);
  if (at < 0) return at;
  Slot& s = slot();
  set_call(s, SYS_accept4, fd, flags & SOCK_NONBLOCK, at);
  const long r = forward(s);
  if (r < 0) {
    release_fd(at);
    return r;
  }
  set_cloexec(at, flags & SOCK_CLOEXEC);
  give_address(&s.args[3], addr, len);
  return r;
}

long do_name(long nr, long fd, void* addr, socklen_t* len) {
  if (addr == nullptr || len == nullptr) return -EFAULT;
  if (static_cast<int>(*len) < 0) return -EINVAL;
  Slot& s = slot();
  set_call(s, nr, fd);
  const long r = forward(s);
  if (r < 0) return r;
  return give_address(&s.args[3], addr, len);
}

long do_sendmsg(long fd, const msghdr* msg, int flags) {
  if (msg == nullptr) return -EFAULT;
  std::size_t total = 0;
  if (const long err = iov_total(msg->msg_iov, static_cast<long>(msg->msg_iovlen), total)) return err;
  std::int64_t w[3];
  const std::int64_t* to = nullptr;
  if (msg->msg_name != nullptr) {
    if (const long err = pack_address(msg->msg_name, msg->msg_namelen, w, false)) return err;
    to = w;
  }
  // Control messages (IP_PKTINFO, IP_TOS...) have no effect on the virtual network
  // and are ignored; descriptors and credentials would, and are not simulated.
  if (msg->msg_control != nullptr && msg->msg_controllen >= sizeof(cmsghdr)) {
    auto* m = const_cast<msghdr*>(msg);
    for (cmsghdr* c = CMSG_FIRSTHDR(m); c != nullptr; c = CMSG_NXTHDR(m, c)) {
      if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_CREDENTIALS))
        return unsupported("sendmsg(SCM_RIGHTS/SCM_CREDENTIALS): passing descriptors or credentials "
                           "is not simulated");
    }
  }
  return send_iov(fd, msg->msg_iov, static_cast<long>(msg->msg_iovlen), total, flags, to);
}

long do_recvmsg(long fd, msghdr* msg, int flags) {
  if (msg == nullptr) return -EFAULT;
  std::size_t total = 0;
  if (const long err = iov_total(msg->msg_iov, static_cast<long>(msg->msg_iovlen), total)) return err;
  int msg_flags = 0;
  socklen_t name_len = msg->msg_namelen;
  const long r = recv_iov(fd, msg->msg_iov, static_cast<long>(msg->msg_iovlen), total, flags,
                          msg->msg_name, msg->msg_name ? &name_len : nullptr, &msg_flags);
  if (r < 0) return r;
  if (msg->msg_name) msg->msg_namelen = name_len;
  // No control data is ever received.
  msg->msg_controllen = 0;
  msg->msg_flags = msg_flags;
  return r;
}

long do_readv(long fd, const iovec* iov, long count) {
  std::size_t total = 0;
  if (const long err = iov_total(iov, count, total)) return err;
  // Linux's sock_read_iter() answers a zero-length read at once, without consuming a
  // datagram.
  if (total == 0) return 0;
  return recv_iov(fd, iov, count, total, 0, nullptr, nullptr, nullptr);
}

long do_writev(long fd, const iovec* iov, long count) {
  std::size_t total = 0;
  if (const long err = iov_total(iov, count, total)) return err;
  return send_iov(fd, iov, count, total, 0, nullptr);
}

long do_close(long fd) {
  Slot& s = slot();
  set_call(s, SYS_close, fd);
  const long r = forward(s);
  // The descriptor is gone whatever the simulator says, as close(2) promises.
  release_fd(fd);
  return r;
}

// dup(): a new placeholder, then the simulator installs the same socket there.
long dup_at(long fd, long at, bool cloexec) {
  set_cloexec(at, cloexec);
  Slot& s = slot();
  set_call(s, SYS_dup, fd, at);
  const long r = forward(s);
  if (r < 0) release_fd(at);
  return r;
}

long do_dup(long fd) {
  const long at = reserve_fd(FdKind::socket);
  if (at < 0) return at;
  return dup_at(fd, at, false);
}

// dup2/dup3 with a simulated socket on either side.
long do_dup3(long nr, long oldfd, long newfd, long flags) {
  if (nr == SYS_dup3) {
    if (flags & ~O_CLOEXEC) return -EINVAL;
    if (oldfd == newfd) return -EINVAL;
  }
  const bool cloexec = flags & O_CLOEXEC;
  const FdKind old_kind = fd_kind(oldfd);
  const FdKind new_kind = fd_kind(newfd);
  if (old_kind == FdKind::none) {
    // A real file onto a simulated socket: the socket closes, the file takes its place.
    if (raw(SYS_fcntl, oldfd, F_GETFD) < 0) return -EBADF;
    if (new_kind == FdKind::socket) do_close(newfd);
    return raw(SYS_dup3, oldfd, newfd, cloexec ? O_CLOEXEC : 0);
  }
  if (oldfd == newfd) return newfd;  // dup2(fd, fd)
  if (newfd < 0) return -EBADF;
  if (new_kind == FdKind::none) {
    // Linux closes whatever the number held; the placeholder takes its place.
    const long at = reserve_fd(FdKind::socket, newfd);
    if (at < 0) return at;
  }
  set_cloexec(newfd, cloexec);
  Slot& s = slot();
  set_call(s, SYS_dup3, oldfd, newfd, new_kind == FdKind::socket);
  const long r = forward(s);
  if (r < 0) release_fd(newfd);
  return r;
}

long do_fcntl(long fd, long cmd, long arg) {
  switch (cmd) {
    case F_GETFD:
    case F_SETFD:
      return raw(SYS_fcntl, fd, cmd, arg);
    case F_GETFL:
    case F_SETFL: {
      Slot& s = slot();
      set_call(s, SYS_fcntl, fd, cmd, arg);
      return forward(s);
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      if (arg < 0) return -EINVAL;
      // The lowest free number at or above the caller's floor, as on Linux.
      const long found = lowest_free_fd(arg);
      if (found < 0) return found;
      const long at = reserve_fd(FdKind::socket, found);
      if (at < 0) {
        raw(SYS_close, found);
        return at;
      }
      return dup_at(fd, at, cmd == F_DUPFD_CLOEXEC);
    }
    case F_GETOWN:
    case F_SETOWN:
    case F_GETOWN_EX:
    case F_SETOWN_EX:
    case F_GETSIG:
    case F_SETSIG:
      return unsupported("fcntl(F_SETOWN/F_SETSIG) on a socket: signal-driven I/O is not simulated");
    case F_SETLK:
    case F_SETLKW:
    case F_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
    case F_OFD_GETLK:
      return unsupported("fcntl locks on a socket");
    default:
      return -EINVAL;
  }
}

long do_ioctl(long fd, unsigned long request, long arg) {
  switch (request) {
    case FIONBIO: {
      if (arg == 0) return -EFAULT;
      Slot& s = slot();
      set_call(s, SYS_ioctl, fd, FIONBIO, *reinterpret_cast<const int*>(arg) != 0);
      return forward(s);
    }
    case FIONREAD:
    case SIOCOUTQ:
    case SIOCOUTQNSD: {
      if (arg == 0) return -EFAULT;
      const long r = forward(SYS_ioctl, fd, request == FIONREAD ? FIONREAD : SIOCOUTQ);
      if (r < 0) return r;
      *reinterpret_cast<int*>(arg) = static_cast<int>(r);
      return 0;
    }
    case SIOCATMARK:
      if (arg == 0) return -EFAULT;
      *reinterpret_cast<int*>(arg) = 0;
      return 0;
    case FIOCLEX:
    case FIONCLEX:
      return raw(SYS_ioctl, fd, request, arg);
    default:
      // Interface queries (SIOCGIFCONF, SIOCGIFADDR...) describe the simulated host;
      // everything else is not a socket ioctl (TCGETS from isatty()).
      if (request >= 0x8910 && request <= 0x89ff) return interface_ioctl(request, arg);
      return -ENOTTY;
  }
}

// What Linux reports for a simulated descriptor: its mode as the simulator's kernel
// says (a socket, a pipe, an anonymous inode), fixed numbers instead of the
// placeholder's, so that nothing depends on the machine. -errno when it cannot.
long socket_stat(long fd, struct stat& st) {
  const long mode = forward(SYS_fstat, fd);
  if (mode < 0) return mode;
  std::memset(&st, 0, sizeof st);
  st.st_dev = makedev(0, 8);
  st.st_ino = static_cast<ino_t>(fd) + 1;
  st.st_mode = static_cast<mode_t>(mode);
  st.st_nlink = 1;
  st.st_uid = static_cast<uid_t>(raw(SYS_getuid));
  st.st_gid = static_cast<gid_t>(raw(SYS_getgid));
  st.st_blksize = 4096;
  return 0;
}

long do_fstatat(long fd, const char* path, struct stat* out, long flags) {
  if (path != nullptr && path[0] == '/') return 1;  // absolute: not about fd at all
  if (path != nullptr && path[0] != '\0') return -ENOTDIR;
  if (!(flags & AT_EMPTY_PATH) && path != nullptr) return -ENOENT;
  if (out == nullptr) return -EFAULT;
  return socket_stat(fd, *out);
}

long do_statx(long fd, const char* path, long flags, struct statx* out) {
  if (path != nullptr && path[0] == '/') return 1;
  if (path != nullptr && path[0] != '\0') return -ENOTDIR;
  if (!(flags & AT_EMPTY_PATH) && path != nullptr) return -ENOENT;
  if (out == nullptr) return -EFAULT;
  struct stat st;
  if (const long err = socket_stat(fd, st)) return err;
  std::memset(out, 0, sizeof *out);
  out->stx_mask = STATX_BASIC_STATS;
  out->stx_blksize = static_cast<std::uint32_t>(st.st_blksize);
  out->stx_nlink = static_cast<std::uint32_t>(st.st_nlink);
  out->stx_uid = st.st_uid;
  out->stx_gid = st.st_gid;
  out->stx_mode = static_cast<std::uint16_t>(st.st_mode);
  out->stx_ino = st.st_ino;
  out->stx_dev_major = major(st.st_dev);
  out->stx_dev_minor = minor(st.st_dev);
  return 0;
}

// sendfile() to a socket: the file is read natively, straight into the slot, and
// sent; what the socket did not take is given back to the file's offset.
long do_sendfile(long out, long in, off_t* offset, std::size_t count) {
  if (fd_kind(in) != FdKind::none) return -EINVAL;  // Linux cannot splice from a socket
  Slot& s = slot();
  std::size_t total = 0;
  off_t position = offset ? *offset : 0;
  while (total < count) {
    const std::size_t want = count - total < kSlotBuffer ? count - total : kSlotBuffer;
    const long got = offset ? raw(SYS_pread64, in, reinterpret_cast<long>(s.buffer), want, position)
                            : raw(SYS_read, in, reinterpret_cast<long>(s.buffer), want);
    if (got < 0) {
      if (total) break;
      return got;
    }
    if (got == 0) break;
    set_call(s, SYS_sendto, out, got);
    s.size = static_cast<std::uint64_t>(got);
    const long r = forward(s);
    const long taken = r < 0 ? 0 : r;
    if (taken < got && !offset) raw(SYS_lseek, in, taken - got, SEEK_CUR);
    if (r < 0) {
      if (total) break;
      maybe_sigpipe(r, 0);
      return r;
    }
    total += static_cast<std::size_t>(r);
    position += r;
    if (r < got) break;
  }
  if (offset) *offset = position;
  return static_cast<long>(total);
}

// setsockopt: the simulator keeps one int per option; the options whose value is a
// struct are folded into one here and unfolded by getsockopt.
constexpr int kMicros = 1'000'000;

long do_setsockopt(long fd, long level, long name, const void* value, long len) {
  if (len < 0) return -EINVAL;
  if (value == nullptr && len > 0) return -EFAULT;
  int folded = 0;
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD ||
                              name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW)) {
    // Kept so getsockopt returns it, but not applied: a recv still blocks until data
    // comes (a program that relied on the timeout shows in the deadlock report).
    timeval tv;
    if (len < static_cast<long>(sizeof tv)) return -EINVAL;
    std::memcpy(&tv, value, sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= kMicros) return -EDOM;
    const long long micros = tv.tv_sec < 0 ? 0 : static_cast<long long>(tv.tv_sec) * kMicros + tv.tv_usec;
    folded = micros > INT_MAX ? INT_MAX : static_cast<int>(micros);
    name = (name == SO_RCVTIMEO_NEW || name == SO_RCVTIMEO_OLD) ? SO_RCVTIMEO_OLD : SO_SNDTIMEO_OLD;
  } else if (level == SOL_SOCKET && name == SO_LINGER) {
    // No lingering close on the virtual network: kept for getsockopt only.
    linger l;
    if (len < static_cast<long>(sizeof l)) return -EINVAL;
    std::memcpy(&l, value, sizeof l);
    const int seconds = l.l_linger < 0 ? 0 : (l.l_linger > (INT_MAX >> 1) ? (INT_MAX >> 1) : l.l_linger);
    folded = (seconds << 1) | (l.l_onoff ? 1 : 0);
  } else if ((level == IPPROTO_IP && (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP ||
                                      name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_MULTICAST_IF)) ||
             (level == IPPROTO_IPV6 && (name == IPV6_ADD_MEMBERSHIP || name == IPV6_DROP_MEMBERSHIP)) ||
             ((level == IPPROTO_IP || level == IPPROTO_IPV6) &&
              (name == MCAST_JOIN_GROUP || name == MCAST_LEAVE_GROUP))) {
    return unsupported("setsockopt: multicast groups are not simulated");
  } else if (level == SOL_SOCKET && name == SO_PASSCRED && len >= static_cast<long>(sizeof(int)) &&
             *static_cast<const int*>(value) != 0) {
    return unsupported("setsockopt(SO_PASSCRED): credentials are not simulated");
  } else if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_ATTACH_BPF ||
                                     name == SO_BINDTODEVICE)) {
    return unsupported("setsockopt(SO_BINDTODEVICE/SO_ATTACH_FILTER) is not simulated");
  } else if (len >= static_cast<long>(sizeof(int))) {
    std::memcpy(&folded, value, sizeof folded);
  } else if (level == IPPROTO_IP && len >= 1) {
    folded = *static_cast<const unsigned char*>(value);  // ip_setsockopt() takes a byte
  } else {
    return -EINVAL;
  }
  Slot& s = slot();
  set_call(s, SYS_setsockopt, fd, level, name, folded);
  return forward(s);
}

long do_getsockopt(long fd, long level, long name, void* value, socklen_t* len) {
  if (len == nullptr) return -EFAULT;
  const int room = static_cast<int>(*len);
  if (room < 0) return -EINVAL;
  if (value == nullptr && room > 0) return -EFAULT;
  if (level == SOL_SOCKET && name == SO_PEERCRED)
    return unsupported("getsockopt(SO_PEERCRED): credentials are not simulated");
  long stored = name;
  const bool timeout = level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD ||
                                               name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW);
  if (timeout)
    stored = (name == SO_RCVTIMEO_NEW || name == SO_RCVTIMEO_OLD) ? SO_RCVTIMEO_OLD : SO_SNDTIMEO_OLD;
  Slot& s = slot();
  set_call(s, SYS_getsockopt, fd, level, stored);
  const long r = forward(s);
  if (r < 0) return r;
  const int v = static_cast<int>(s.args[3]);
  unsigned char out[sizeof(timeval)];
  int size = sizeof(int);
  if (timeout) {
    const timeval tv{v / kMicros, v % kMicros};
    std::memcpy(out, &tv, sizeof tv);
    size = sizeof tv;
  } else if (level == SOL_SOCKET && name == SO_LINGER) {
    const linger l{v & 1, v >> 1};
    std::memcpy(out, &l, sizeof l);
    size = sizeof l;
  } else {
    std::memcpy(out, &v, sizeof v);
  }
  const int n = room < size ? room : size;
  std::memcpy(value, out, static_cast<std::size_t>(n));
  *len = static_cast<socklen_t>(n);
  return 0;
}

// The calls about a descriptor, when it is a simulated socket.
bool fd_call(long nr, const long* a, long& result) {
  const long fd = a[0];
  switch (nr) {
    case SYS_read:
      result = a[2] == 0 ? 0 : recv_buffer(fd, reinterpret_cast<void*>(a[1]), a[2], 0, nullptr, nullptr);
      return true;
    case SYS_write:
      result = send_buffer(fd, reinterpret_cast<const void*>(a[1]), a[2], 0, nullptr);
      return true;
    case SYS_readv:
      result = do_readv(fd, reinterpret_cast<const iovec*>(a[1]), a[2]);
      return true;
    case SYS_writev:
      result = do_writev(fd, reinterpret_cast<const iovec*>(a[1]), a[2]);
      return true;
    case SYS_close:
      result = do_close(fd);
      return true;
    case SYS_dup:
      result = do_dup(fd);
      return true;
    case SYS_fcntl:
      result = do_fcntl(fd, a[1], a[2]);
      return true;
    case SYS_ioctl:
      result = do_ioctl(fd, static_cast<unsigned long>(a[1]), a[2]);
      return true;
    case SYS_fstat:
      result = a[1] == 0 ? -EFAULT : socket_stat(fd, *reinterpret_cast<struct stat*>(a[1]));
      return true;
    case SYS_newfstatat: {
      const long r = do_fstatat(fd, reinterpret_cast<const char*>(a[1]),
                                reinterpret_cast<struct stat*>(a[2]), a[3]);
      if (r == 1) return false;
      result = r;
      return true;
    }
    case SYS_statx: {
      const long r = do_statx(fd, reinterpret_cast<const char*>(a[1]), a[2],
                              reinterpret_cast<struct statx*>(a[4]));
      if (r == 1) return false;
      result = r;
      return true;
    }
    case SYS_sendfile:
      result = do_sendfile(fd, a[1], reinterpret_cast<off_t*>(a[2]), static_cast<std::size_t>(a[3]));
      return true;
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_preadv2:
    case SYS_pwritev2:
      result = -ESPIPE;  // no simulated file has an offset: Linux opens them all as streams
      return true;
    case SYS_lseek:
      result = forward(SYS_lseek, fd);  // which refuses depends on the kind
      return true;
    default:
      return false;
  }
}

// sendmmsg/recvmmsg: one sendmsg/recvmsg per message, until the first that fails
// (an error only when it is the first). recvmmsg's timeout is not applied: it
// returns when the messages it could take without blocking are taken, after the
// first if MSG_WAITFORONE says so.
long do_sendmmsg(long fd, mmsghdr* msgs, long count, int flags) {
  if (count < 0) return -EINVAL;
  if (count > IOV_MAX) count = IOV_MAX;
  if (count > 0 && msgs == nullptr) return -EFAULT;
  long done = 0;
  for (; done < count; ++done) {
    const long r = do_sendmsg(fd, &msgs[done].msg_hdr, flags);
    if (r < 0) return done ? done : r;
    msgs[done].msg_len = static_cast<unsigned>(r);
  }
  return done;
}

long do_recvmmsg(long fd, mmsghdr* msgs, long count, int flags) {
  if (count < 0) return -EINVAL;
  if (count > IOV_MAX) count = IOV_MAX;
  if (count > 0 && msgs == nullptr) return -EFAULT;
  long done = 0;
  for (; done < count; ++done) {
    const int now = (done > 0 && (flags & MSG_WAITFORONE)) ? (flags | MSG_DONTWAIT) : flags;
    const long r = do_recvmsg(fd, &msgs[done].msg_hdr, now & ~MSG_WAITFORONE);
    if (r < 0) return done ? done : r;
    msgs[done].msg_len = static_cast<unsigned>(r);
  }
  return done;
}

}  // namespace

bool net_call(long nr, const long* a, long& result) {
  switch (nr) {
    case SYS_socket:
    case SYS_socketpair:
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_bind:
    case SYS_connect:
    case SYS_listen:
    case SYS_accept:
    case SYS_accept4:
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg:
    case SYS_shutdown:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_setsockopt:
    case SYS_getsockopt:
    case SYS_sendmmsg:
    case SYS_recvmmsg:
      break;
    case SYS_dup2:
    case SYS_dup3:
      if (fd_kind(a[0]) == FdKind::none && fd_kind(a[1]) == FdKind::none) return false;
      result = do_dup3(nr, a[0], a[1], nr == SYS_dup3 ? a[2] : 0);
      return true;
    default:
      if (fd_kind(a[0]) != FdKind::socket) return false;
      return fd_call(nr, a, result);
  }
  if (nr == SYS_socket) {
    result = do_socket(a[0], a[1], a[2]);
    return true;
  }
  if (nr == SYS_socketpair) {
    result = do_socketpair(a[0], a[1], a[2], reinterpret_cast<int*>(a[3]));
    return true;
  }
  if (nr == SYS_pipe || nr == SYS_pipe2) {
    result = do_pipe(nr == SYS_pipe2 ? a[1] : 0, reinterpret_cast<int*>(a[0]));
    return true;
  }
  const long fd = a[0];
  if (const long err = not_a_socket(fd)) {
    result = err;
    return true;
  }
  switch (nr) {
    case SYS_bind:
    case SYS_connect:
      result = do_bind_connect(nr, fd, reinterpret_cast<const void*>(a[1]), a[2]);
      break;
    case SYS_listen: {
      Slot& s = slot();
      set_call(s, SYS_listen, fd, static_cast<int>(a[1]));
      result = forward(s);
      break;
    }
    case SYS_accept:
      result = do_accept(fd, reinterpret_cast<void*>(a[1]), reinterpret_cast<socklen_t*>(a[2]), 0);
      break;
    case SYS_accept4:
      result = do_accept(fd, reinterpret_cast<void*>(a[1]), reinterpret_cast<socklen_t*>(a[2]), a[3]);
      break;
    case SYS_sendto: {
      std::int64_t w[3];
      const std::int64_t* to = nullptr;
      if (a[4] != 0) {
        if (const long err = pack_address(reinterpret_cast<const void*>(a[4]), a[5], w, false)) {
          result = err;
          break;
        }
        to = w;
      }
      result = send_buffer(fd, reinterpret_cast<const void*>(a[1]), a[2], static_cast<int>(a[3]), to);
      break;
    }
    case SYS_recvfrom:
      result = recv_buffer(fd, reinterpret_cast<void*>(a[1]), a[2], static_cast<int>(a[3]),
                           reinterpret_cast<void*>(a[4]), reinterpret_cast<socklen_t*>(a[5]));
      break;
    case SYS_sendmsg:
      result = do_sendmsg(fd, reinterpret_cast<const msghdr*>(a[1]), static_cast<int>(a[2]));
      break;
    case SYS_recvmsg:
      result = do_recvmsg(fd, reinterpret_cast<msghdr*>(a[1]), static_cast<int>(a[2]));
      break;
    case SYS_shutdown: {
      Slot& s = slot();
      set_call(s, SYS_shutdown, fd, a[1]);
      result = forward(s);
      break;
    }
    case SYS_getsockname:
    case SYS_getpeername:
      result = do_name(nr, fd, reinterpret_cast<void*>(a[1]), reinterpret_cast<socklen_t*>(a[2]));
      break;
    case SYS_setsockopt:
      result = do_setsockopt(fd, a[1], a[2], reinterpret_cast<const void*>(a[3]), a[4]);
      break;
    case SYS_getsockopt:
      result = do_getsockopt(fd, a[1], a[2], reinterpret_cast<void*>(a[3]),
                             reinterpret_cast<socklen_t*>(a[4]));
      break;
    case SYS_sendmmsg:
      result = do_sendmmsg(fd, reinterpret_cast<mmsghdr*>(a[1]), static_cast<unsigned>(a[2]),
                           static_cast<int>(a[3]));
      break;
    case SYS_recvmmsg:
      result = do_recvmmsg(fd, reinterpret_cast<mmsghdr*>(a[1]), static_cast<unsigned>(a[2]),
                           static_cast<int>(a[3]));
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace netsim::shim
