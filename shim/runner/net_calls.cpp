// The simulator's side of the socket, readiness and name calls of a shimmed thread
// (the shim's side: shim/preload/net.cpp, poll.cpp, names.cpp). Each request is
// decoded from the slot, made as the Kernel call it stands for on the thread's task,
// and answered in the slot: result, and for some calls args and buffer.
//
// What each call carries, both ways: protocol.hpp.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "netsim/shim/protocol.hpp"
#include "serve.hpp"

namespace netsim::shim {
namespace {

// ---------------------------------------------------------------- addresses

std::optional<Address> unpack(const std::int64_t* w) {
  const int family = address_family(w);
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  Address address;
  address.ip.family = family == AF_INET ? Family::inet : Family::inet6;
  std::memcpy(address.ip.bytes.data(), &w[1], family == AF_INET ? 4 : 16);
  address.port = static_cast<std::uint16_t>(address_port(w));
  return address;
}

void pack(const Address& address, std::int64_t* w) {
  const bool v4 = address.ip.family == Family::inet;
  encode_ip_address(w, v4 ? AF_INET : AF_INET6, address.port, address.ip.bytes.data(), v4 ? 4 : 16);
}

std::string_view unix_name(const Slot& slot, const std::int64_t* w) {
  const auto n = std::min<std::size_t>(address_port(w), kUnixRoom);
  return {reinterpret_cast<const char*>(slot.buffer + kUnixNameAt), n};
}

void pack_unix(const std::string& name, std::int64_t* w, Slot& slot) {
  encode_unix_address(w, name.data(), name.size(), slot.buffer + kUnixNameAt);
}

using FileKind = Kernel::FileKind;

// The descriptor's kind as the kernel keeps it (a pure read: no call cost, no
// scheduling point), where Linux treats stream and datagram sockets differently and
// where the calls with addresses need the family. -EBADF: none.
long kind_of(const Kernel& kernel, const Task& task, int fd) { return kernel.file_kind(task.process(), fd); }
bool datagram(long kind) {
  return kind == static_cast<long>(FileKind::udp) || kind == static_cast<long>(FileKind::unix_datagram);
}
// A pipe is a Unix stream underneath, and answers the socket calls as one.
bool unix_socket(const Kernel& kernel, const Task& task, int fd) {
  const long kind = kind_of(kernel, task, fd);
  return kind == static_cast<long>(FileKind::unix_stream) || kind == static_cast<long>(FileKind::unix_datagram) ||
         kind == static_cast<long>(FileKind::pipe);
}

// ---------------------------------------------------------------- calls

long serve_recvfrom(Kernel& kernel, Task& task, Slot& slot) {
  const int fd = static_cast<int>(slot.args[0]);
  std::size_t size = std::min<std::size_t>(static_cast<std::size_t>(slot.args[1]), kSlotBuffer);
  const int flags = static_cast<int>(slot.args[2]);
  const bool want_address = slot.args[3] != 0;
  const bool want_flags = slot.args[4] != 0;
  // Stream and datagram sockets differ here only: asked about the sender, about
  // truncation, or MSG_TRUNC (a datagram's length; a stream's bytes discarded).
  const long kind = (want_address || want_flags || (flags & MSG_TRUNC)) ? kind_of(kernel, task, fd) : -EBADF;
  const int type = kind < 0 ? 0 : datagram(kind) ? SOCK_DGRAM : SOCK_STREAM;
  const int call_flags = type == SOCK_DGRAM ? flags | MSG_TRUNC : flags;
  const bool unix_from = want_address && kind == static_cast<long>(FileKind::unix_datagram);
  if (unix_from) size = std::min(size, kUnixNameAt);
  Address from;
  std::string from_name;
  long r = unix_from ? kernel.recvfrom_unix(task, fd, slot.buffer, size, call_flags, &from_name)
                     : kernel.recvfrom(task, fd, slot.buffer, size, call_flags,
                                       want_address && type == SOCK_DGRAM ? &from : nullptr);
  encode_no_address(&slot.args[3]);
  slot.args[1] = 0;
  if (r < 0) return r;
  std::size_t copied = static_cast<std::size_t>(r);
  if (type == SOCK_DGRAM) {
    copied = std::min(copied, size);
    if (static_cast<std::size_t>(r) > size) slot.args[1] = MSG_TRUNC;
    if (!(flags & MSG_TRUNC)) r = static_cast<long>(copied);
    // An unnamed Unix sender gives no address at all, as Linux's unix_copy_addr().
    if (unix_from && !from_name.empty()) pack_unix(from_name, &slot.args[3], slot);
    else if (want_address && !unix_from) pack(from, &slot.args[3]);
  } else if (type == SOCK_STREAM && (flags & MSG_TRUNC)) {
    copied = 0;  // Linux's tcp_recvmsg() discards: nothing reaches the caller
  }
  slot.size = copied;
  return r;
}

long serve_poll_part(Slot& slot, std::vector<pollfd>& list) {
  const auto n = static_cast<std::size_t>(slot.args[0]);
  if (list.size() + n > kMaxPollList) {
    list.clear();
    return -EINVAL;
  }
  const auto* fds = reinterpret_cast<const pollfd*>(slot.buffer);
  list.insert(list.end(), fds, fds + n);
  return 0;
}

long serve_poll(Kernel& kernel, Task& task, Slot& slot, std::vector<pollfd>& list) {
  const auto n = static_cast<std::size_t>(slot.args[0]);
  const std::int64_t timeout = slot.args[1];
  auto* fds = reinterpret_cast<pollfd*>(slot.buffer);
  // The list is over with this call, however it ends (a wait can be interrupted).
  struct Clear {
    std::vector<pollfd>& list;
    ~Clear() { list.clear(); }
  } clear{list};
  // A list of one part is polled where it lies.
  std::span<pollfd> whole(fds, n);
  if (!list.empty()) {
    list.insert(list.end(), fds, fds + n);
    whole = list;
  }
  const long r = kernel.poll(task, whole, timeout < 0 ? std::nullopt : std::optional<Nanos>(timeout));
  // Written over the request from its start: the k-th ready entry is never behind
  // the k-th entry of the list.
  std::size_t k = 0;
  for (std::size_t i = 0; i < whole.size() && k < kPollPart; ++i)
    if (whole[i].revents) fds[k++] = pollfd{static_cast<int>(i), 0, whole[i].revents};
  slot.size = k * sizeof(pollfd);
  return r;
}

long serve_epoll_wait(Kernel& kernel, Task& task, Slot& slot) {
  // The kernel writes its events into the slot (the task's own: another task's wait
  // cannot touch them while this one blocks), then they are packed in place into the
  // ABI's struct epoll_event (12 bytes on x86-64), each no further on than its source.
  static_assert(sizeof(epoll_event) <= sizeof(Kernel::EpollEvent));
  auto* events = reinterpret_cast<Kernel::EpollEvent*>(slot.buffer);
  const auto max = std::min<std::size_t>(static_cast<std::size_t>(slot.args[1]), kSlotBuffer / sizeof(Kernel::EpollEvent));
  const std::int64_t timeout = slot.args[2];
  const long r = kernel.epoll_wait(task, static_cast<int>(slot.args[0]), std::span(events, max),
                                   timeout < 0 ? std::nullopt : std::optional<Nanos>(timeout));
  for (long i = 0; i < r; ++i) {
    const Kernel::EpollEvent event = events[i];
    epoll_event packed{};
    packed.events = event.events;
    packed.data.u64 = event.data;
    std::memcpy(slot.buffer + i * sizeof(epoll_event), &packed, sizeof packed);
  }
  slot.size = r > 0 ? static_cast<std::size_t>(r) * sizeof(epoll_event) : 0;
  return r;
}

// getaddrinfo's lookup, as the kernel answers it for the calling task: the addresses,
// or the EAI_ code of a resolve_fail fault.
long serve_resolve(Kernel& kernel, Task& task, Slot& slot) {
  const std::size_t length = std::min<std::size_t>(slot.size, kSlotBuffer);
  std::string name(reinterpret_cast<const char*>(slot.buffer), length);
  if (const auto nul = name.find('\0'); nul != std::string::npos) name.resize(nul);
  const Resolution resolution = kernel.resolve(task, name);
  slot.size = 0;
  if (resolution.error) return resolution.error;
  const std::vector<Ip>& found = resolution.addresses;
  const std::size_t count = std::min(found.size(), kSlotBuffer / 17);
  for (std::size_t i = 0; i < count; ++i) {
    unsigned char* entry = slot.buffer + i * 17;
    entry[0] = found[i].family == Family::inet ? 4 : 6;
    std::memset(entry + 1, 0, 16);
    std::memcpy(entry + 1, found[i].bytes.data(), found[i].family == Family::inet ? 4 : 16);
  }
  slot.size = count * 17;
  return static_cast<long>(count);
}

// Every host's /etc/hosts names loopback "localhost"; a host's own addresses give
// its name. The kernel lists hosts only through their processes, so a host no
// process runs on is not found.
long serve_reverse(Kernel& kernel, Slot& slot) {
  Ip ip;
  ip.family = slot.args[0] == 4 ? Family::inet : Family::inet6;
  std::memcpy(ip.bytes.data(), slot.buffer, ip.family == Family::inet ? 4 : 16);
  ip = ip.unmapped();
  std::string name;
  if (ip.is_loopback()) {
    name = "localhost";
  } else {
    auto owns = [&](const Host& host) {
      return std::find(host.addresses.begin(), host.addresses.end(), ip) != host.addresses.end();
    };
    if (owns(kernel.default_host())) {
      name = kernel.default_host().name;
    } else {
      for (const auto& process : kernel.processes()) {
        if (owns(process->host())) {
          name = process->host().name;
          break;
        }
      }
    }
  }
  slot.size = 0;
  if (name.empty() || name.size() >= kSlotBuffer) return -ENOENT;
  std::memcpy(slot.buffer, name.c_str(), name.size() + 1);
  slot.size = name.size() + 1;
  return static_cast<long>(name.size());
}

}  // namespace

bool serve_net(Kernel& kernel, Task& task, Slot& slot, std::vector<pollfd>& poll_list, long& result) {
  std::int64_t* a = slot.args;
  const int fd = static_cast<int>(a[0]);
  switch (slot.call) {
    case SYS_socket:
      slot.size = 0;
      result = kernel.socket(task, static_cast<int>(a[0]), static_cast<int>(a[1]), static_cast<int>(a[2]),
                             static_cast<int>(a[3]));
      return true;
    case SYS_socketpair:
      slot.size = 0;
      result = kernel.socketpair(task, static_cast<int>(a[1]), static_cast<int>(a[3]),
                                 static_cast<int>(a[4]));
      return true;
    case SYS_pipe2: {
      slot.size = 0;
      int fds[2] = {static_cast<int>(a[1]), static_cast<int>(a[2])};
      result = kernel.pipe(task, static_cast<int>(a[0]), fds);
      return true;
    }
    case SYS_bind:
    case SYS_connect: {
      slot.size = 0;
      const std::optional<Address> address = unpack(&a[1]);
      if (is_unix_address(&a[1])) {
        const std::string_view name = unix_name(slot, &a[1]);
        result = slot.call == SYS_bind ? kernel.bind_unix(task, fd, name) : kernel.connect_unix(task, fd, name);
      } else if (!address) {
        result = -EAFNOSUPPORT;
      } else {
        result = slot.call == SYS_bind ? kernel.bind(task, fd, *address) : kernel.connect(task, fd, *address);
      }
      return true;
    }
    case SYS_listen:
      slot.size = 0;
      result = kernel.listen(task, fd, static_cast<int>(a[1]));
      return true;
    case SYS_accept4: {
      slot.size = 0;
      if (unix_socket(kernel, task, fd)) {
        std::string peer;
        result = kernel.accept_unix(task, fd, &peer, static_cast<int>(a[1]), static_cast<int>(a[2]));
        if (result >= 0) pack_unix(peer, &a[3], slot);
        else encode_no_address(&a[3]);
        return true;
      }
      Address peer;
      result = kernel.accept(task, fd, &peer, static_cast<int>(a[1]), static_cast<int>(a[2]));
      if (result >= 0) pack(peer, &a[3]);
      else encode_no_address(&a[3]);
      return true;
    }
    case SYS_sendto: {
      const std::size_t size = std::min<std::size_t>(static_cast<std::size_t>(a[1]),
                                                     std::min<std::size_t>(slot.size, kSlotBuffer));
      const std::optional<Address> to = a[3] != 0 ? unpack(&a[3]) : std::nullopt;
      slot.size = 0;
      const bool whole_in_a1 = a[3] == 0 || is_unix_address(&a[3]);
      if (whole_in_a1 && static_cast<std::size_t>(a[4]) > size && datagram(kind_of(kernel, task, fd))) {
        result = -EMSGSIZE;
      } else if (is_unix_address(&a[3])) {
        result = kernel.sendto_unix(task, fd, slot.buffer, size, static_cast<int>(a[2]), unix_name(slot, &a[3]));
      } else if (a[3] != 0 && !to) {
        result = -EAFNOSUPPORT;
      } else {
        result = kernel.sendto(task, fd, slot.buffer, size, static_cast<int>(a[2]), to ? &*to : nullptr);
      }
      return true;
    }
    case SYS_recvfrom:
      slot.size = 0;
      result = serve_recvfrom(kernel, task, slot);
      return true;
    case SYS_shutdown:
      slot.size = 0;
      result = kernel.shutdown(task, fd, static_cast<int>(a[1]));
      return true;
    case SYS_close:
      slot.size = 0;
      result = kernel.close(task, fd);
      return true;
    case SYS_dup:
      slot.size = 0;
      result = kernel.dup(task, fd, static_cast<int>(a[1]));
      return true;
    case SYS_dup3:
      slot.size = 0;
      // dup2 over an open socket closes it first; Linux does both at once, here no
      // other task can run in between unless the random policy switches at the dup.
      if (a[2] != 0) kernel.close(task, static_cast<int>(a[1]));
      result = kernel.dup(task, fd, static_cast<int>(a[1]));
      return true;
    case SYS_getsockname:
    case SYS_getpeername: {
      slot.size = 0;
      if (unix_socket(kernel, task, fd)) {
        std::string name;
        result = kernel.name_unix(task, fd, slot.call == SYS_getpeername, &name);
        if (result == 0) pack_unix(name, &a[3], slot);
        else encode_no_address(&a[3]);
        return true;
      }
      Address address;
      result = slot.call == SYS_getsockname ? kernel.getsockname(task, fd, &address)
                                            : kernel.getpeername(task, fd, &address);
      if (result == 0) pack(address, &a[3]);
      else encode_no_address(&a[3]);
      return true;
    }
    case SYS_setsockopt:
      slot.size = 0;
      result = kernel.setsockopt(task, fd, static_cast<int>(a[1]), static_cast<int>(a[2]),
                                 static_cast<int>(a[3]));
      return true;
    case SYS_getsockopt: {
      slot.size = 0;
      int value = 0;
      result = kernel.getsockopt(task, fd, static_cast<int>(a[1]), static_cast<int>(a[2]), &value);
      a[3] = value;
      return true;
    }
    case SYS_fcntl:
      slot.size = 0;
      if (a[1] == F_GETFL) {
        const long r = kernel.get_nonblocking(task, fd);
        result = r < 0 ? r : (O_RDWR | (r ? O_NONBLOCK : 0));
      } else if (a[1] == F_SETFL) {
        result = kernel.set_nonblocking(task, fd, (a[2] & O_NONBLOCK) != 0);
      } else {
        result = -EINVAL;
      }
      return true;
    case SYS_ioctl:
      slot.size = 0;
      if (a[1] == FIONBIO) {
        result = kernel.set_nonblocking(task, fd, a[2] != 0);
      } else if (a[1] == FIONREAD) {
        result = kernel.bytes_readable(task.process(), fd);
      } else if (a[1] == SIOCOUTQ) {
        result = kernel.bytes_unsent(task.process(), fd);
      } else {
        result = -ENOTTY;
      }
      return true;
    case SYS_fstat:
      slot.size = 0;
      result = kernel.file_mode(task.process(), fd);
      return true;
    case SYS_lseek:
      slot.size = 0;
      result = kernel.seek(task.process(), fd);
      return true;
    case SYS_unlink: {
      slot.size = 0;
      const std::int64_t w[3] = {AF_UNIX | a[0] << 16, 0, 0};
      result = kernel.unlink_unix(task, unix_name(slot, w));
      return true;
    }
    case SYS_poll:
      result = serve_poll(kernel, task, slot, poll_list);
      return true;
    case SYS_epoll_create1:
      slot.size = 0;
      result = kernel.epoll_create(task, static_cast<int>(a[0]), static_cast<int>(a[1]));
      return true;
    case SYS_epoll_ctl:
      slot.size = 0;
      result = kernel.epoll_ctl(task, fd, static_cast<int>(a[1]), static_cast<int>(a[2]),
                                static_cast<std::uint32_t>(a[3]), static_cast<std::uint64_t>(a[4]));
      return true;
    case SYS_epoll_wait:
      result = serve_epoll_wait(kernel, task, slot);
      return true;
    case kCallPollPart:
      result = serve_poll_part(slot, poll_list);
      return true;
    case kCallResolve:
      result = serve_resolve(kernel, task, slot);
      return true;
    case kCallReverseResolve:
      result = serve_reverse(kernel, slot);
      return true;
    default:
      return false;
  }
}

}  // namespace netsim::shim
