#include "datagram.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blocking.hpp"
#include "events.hpp"
#include "link.hpp"
#include "net.hpp"

namespace netsim {
namespace {

// The largest UDP payload: 65535 bytes less the IPv4 and UDP headers. IPv6's 16-bit
// payload length leaves out its own header, so it carries 20 bytes more; a v4-mapped
// destination goes out as IPv4.
constexpr std::size_t kMaxDatagramV4 = 65507;
constexpr std::size_t kMaxDatagramV6 = 65527;

// An unbound socket that sends or connects gets an ephemeral port first, as on Linux.
int bind_for(Kernel& kernel, Task& self, int fd, Socket& socket, const Ip& to) {
  if (socket.local) return 0;
  const std::optional<Ip> source = kernel.net().source_for(*socket.host, socket.family, to);
  if (!source) return -ENETUNREACH;
  if (const int err = kernel.net().bind(socket, {Ip::any(socket.family), 0})) return err;
  record(kernel, EventKind::bind, &self, fd, &socket);
  return 0;
}

// The socket bound at `dest` on `there` that takes a datagram from `from`: a connected
// receiver takes datagrams from its peer only. Null when nobody does.
Socket* receiver_for(Kernel& kernel, Host& there, const Address& dest, const Address& from) {
  Socket* receiver = kernel.net().find_receiver(there, false, dest);
  if (receiver && receiver->remote &&
      as_family(*receiver->remote, Family::inet6) != as_family(from, Family::inet6))
    return nullptr;
  return receiver;
}

void enqueue(Socket& receiver, std::string data, const Address& from) {
  receiver.datagram_bytes += data.size();
  receiver.datagrams.push_back({std::move(data), as_family(from, receiver.family), {}});
  receiver.waiters.notify_all();
}

void record_drop(Kernel& kernel, const Address& from, const Address& dest) {
  Event& event = record(kernel, EventKind::drop, nullptr, -1);
  event.datagram = true;
  event.local = from;
  event.remote = dest;
}

// Nobody took a datagram of a connected socket: the ICMP "port unreachable" crosses
// the link back (or is lost on the way, as the datagram could have been) and sets
// ECONNREFUSED for the socket's next call, if it is still connected to `dest`.
void unreachable(Kernel& kernel, const std::weak_ptr<Socket>& weak, int here, int there, const Address& dest) {
  Links& links = kernel.links();
  if (links.held(there, here) || links.cut(there, here) || links.lose(there, here)) return;
  kernel.scheduler().call_at(links.arrival(there, here, 0, kernel.clock().elapsed()), [weak, dest] {
    const std::shared_ptr<Socket> sender = weak.lock();
    if (!sender || !sender->remote || *sender->remote != as_family(dest, sender->family)) return;
    sender->error = ECONNREFUSED;
    sender->waiters.notify_all();
  });
}

// A datagram across a link: kept while the link is held, lost (netem loss, or a cut
// path), duplicated, sent ahead of the others (reorder) or delayed; then taken by
// whoever is bound at `dest` when it arrives, or dropped, which a connected sender
// learns from the ICMP error that comes back (unreachable).
void cross(Kernel& kernel, const std::weak_ptr<Socket>& sender, int from_host, Host& there, const Address& dest,
           const std::string& data, const Address& from) {
  Links& links = kernel.links();
  if (links.held(from_host, there.id)) {
    links.keep(from_host, there.id, [&kernel, sender, from_host, &there, dest, data, from] {
      cross(kernel, sender, from_host, there, dest, data, from);
    });
    return;
  }
  if (links.cut(from_host, there.id) || links.lose(from_host, there.id)) {
    record_drop(kernel, from, dest);
    return;
  }
  const int copies = links.duplicate(from_host, there.id) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    const Nanos now = kernel.clock().elapsed();
    const Nanos arrival = links.reorder(from_host, there.id) ? now : links.arrival(from_host, there.id, data.size(), now);
    kernel.scheduler().call_at(arrival, [&kernel, sender, from_host, &there, dest, data, from] {
      Socket* receiver = receiver_for(kernel, there, dest, from);
      if (!receiver || receiver->datagram_bytes + data.size() > receiver->rcvbuf) {
        record_drop(kernel, from, dest);
        if (!receiver && !sender.expired()) unreachable(kernel, sender, from_host, there.id, dest);
      } else {
        enqueue(*receiver, data, from);
      }
    });
  }
}

}  // namespace

long datagram_connect(Kernel& kernel, Task& self, int fd, Socket& socket, const Address& to) {
  if (!kernel.net().route(*socket.host, to.ip)) return -ENETUNREACH;
  if (const int err = bind_for(kernel, self, fd, socket, to.ip)) return err;
  socket.remote = as_family(to, socket.family);
  return 0;
}

long datagram_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data,
                   const Address* to) {
  if (!to && !socket.remote) return -EDESTADDRREQ;
  const Address dest = to ? *to : *socket.remote;
  const bool v4 = dest.ip.unmapped().family == Family::inet;
  if (data.size() > (v4 ? kMaxDatagramV4 : kMaxDatagramV6)) return -EMSGSIZE;
  if (socket.error) {
    const int err = socket.error;
    socket.error = 0;
    return -err;
  }
  Host* there = kernel.net().route(*socket.host, dest.ip);
  if (!there) return -ENETUNREACH;
  if (const int err = bind_for(kernel, self, fd, socket, dest.ip)) return err;

  Address from = *socket.local;
  if (from.ip.is_any()) {
    const std::optional<Ip> source = kernel.net().source_for(*socket.host, socket.family, dest.ip);
    if (!source) return -ENETUNREACH;
    from.ip = *source;
  }
  Event& event = record(kernel, EventKind::send, &self, fd, &socket);
  event.local = from;  // the address the datagram carries, never the wildcard
  event.remote = dest;
  event.value = static_cast<std::int64_t>(data.size());
  if (kernel.trace().keep_payload()) event.data = data;
  if (!kernel.links().perfect(socket.host->id, there->id)) {
    // Only a connected socket hears of an unreachable port (no IP_RECVERR here).
    const std::weak_ptr<Socket> sender = socket.remote ? socket.weak_from_this() : std::weak_ptr<Socket>();
    cross(kernel, sender, socket.host->id, *there, dest, std::string(data), from);
    return static_cast<long>(data.size());
  }
  Socket* receiver = receiver_for(kernel, *there, dest, from);
  const bool refused = !receiver;
  if (refused || receiver->datagram_bytes + data.size() > receiver->rcvbuf) {
    record(kernel, EventKind::drop, &self, fd, &socket).remote = dest;
    // Nobody listening: the ICMP "port unreachable" reaches connected sockets only,
    // and wakes whoever waits on it (a reader, a poller), as Linux's error report does.
    if (refused && socket.remote) {
      socket.error = ECONNREFUSED;
      socket.waiters.notify_all();
    }
    return static_cast<long>(data.size());
  }
  enqueue(*receiver, std::string(data), from);
  return static_cast<long>(data.size());
}

long take_datagram(Kernel& kernel, Task& self, int fd, Socket& socket, char* out,
                   std::size_t size, int flags, Address* from, std::string* from_name) {
  Datagram& datagram = socket.datagrams.front();
  const std::size_t n = std::min(size, datagram.data.size());
  std::memcpy(out, datagram.data.data(), n);
  if (from) *from = datagram.from;
  if (from_name) *from_name = datagram.from_name;
  const auto full = static_cast<long>(datagram.data.size());
  Event& event = record(kernel, EventKind::recv, &self, fd, &socket);
  if (!socket.unix_domain) event.remote = datagram.from;
  event.value = static_cast<std::int64_t>(n);
  if (kernel.trace().keep_payload()) event.data = datagram.data.substr(0, n);
  if (!(flags & MSG_PEEK)) {
    socket.datagram_bytes -= datagram.data.size();
    socket.datagrams.pop_front();
  }
  // The rest of a datagram larger than the buffer is lost, as with UDP.
  return (flags & MSG_TRUNC) ? full : static_cast<long>(n);
}

long datagram_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out,
                   std::size_t size, int flags, Address* from) {
  const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT);
  for (;;) {
    // A pending error comes first, even before queued datagrams, as in Linux's
    // __skb_recv_udp(); the datagrams are still there for the next call.
    if (socket.error) {
      const int err = socket.error;
      socket.error = 0;
      return -err;
    }
    if (!socket.datagrams.empty())
      return take_datagram(kernel, self, fd, socket, out, size, flags, from, nullptr);
    // "recv", as for streams: the deadlock report names the operation, not the variant.
    if (const long r = wait_for(kernel, self, socket, "recv", fd, nonblocking)) return r;
  }
}

short datagram_readiness(const Socket& socket) {
  short events = POLLOUT;
  if (!socket.datagrams.empty()) events |= POLLIN;
  if (socket.error) events |= POLLERR;
  return events;
}

}  // namespace netsim
