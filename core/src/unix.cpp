#include "unix.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "blocking.hpp"
#include "datagram.hpp"
#include "events.hpp"
#include "net.hpp"
#include "stream.hpp"

namespace netsim {
namespace {

// Linux's net.core.somaxconn, as for TCP.
constexpr int kSomaxconn = 4096;
// Linux's net.unix.max_dgram_qlen: a receiver queues one datagram more than this,
// then senders wait (unix_recvq_full()).
constexpr std::size_t kMaxDatagramQueue = 10;
// Linux's default SO_SNDBUF (net.core.wmem_default): the largest datagram is all of it
// but 32 bytes (unix_dgram_sendmsg()).
constexpr std::size_t kSndbuf = 212992;

bool backlog_full(const Socket& listener) {
  return listener.accept_queue.size() > static_cast<std::size_t>(listener.backlog);
}

std::shared_ptr<Socket> make_socket(Kernel& kernel, Task& self, bool stream, int type) {
  auto socket = std::make_shared<Socket>();
  socket->id = kernel.net().next_socket_id();
  socket->unix_domain = true;
  socket->stream = stream;
  socket->host = &self.process().host();
  socket->rcvbuf = kernel.config().socket_buffer;
  socket->nonblocking = (type & SOCK_NONBLOCK) != 0;
  return socket;
}

// The socket bound at `name`, with unix_find_other()'s errors: no file, a file whose
// socket has closed, or a socket of the other type.
long find(Kernel& kernel, std::string_view name, bool stream, std::shared_ptr<Socket>& out) {
  auto& names = kernel.net().unix_names;
  const auto it = names.find(name);
  if (it == names.end()) return name[0] == '\0' ? -ECONNREFUSED : -ENOENT;
  out = it->second.lock();
  if (!out || out->state == SockState::closed) return -ECONNREFUSED;
  if (out->stream != stream) return -EPROTOTYPE;
  return 0;
}

void take_name(Kernel& kernel, Socket& socket, std::string name) {
  kernel.net().unix_names[name] = socket.weak_from_this();
  socket.name = std::move(name);
}

// An abstract name of five hex digits, as unix_autobind() makes, from a seeded
// starting point: the same names on every run with the same seed.
long autobind(Kernel& kernel, Socket& socket) {
  constexpr std::uint64_t span = 1 << 20;
  const std::uint64_t start = kernel.rng().below(span);
  for (std::uint64_t i = 1; i <= span; ++i) {
    std::string name = fmt::format("{}{:05x}", '\0', (start + i) % span);
    if (kernel.net().unix_names.contains(name)) continue;
    take_name(kernel, socket, std::move(name));
    return 0;
  }
  return -ENOSPC;
}

// A receiver connected to another socket takes datagrams from that one only.
bool may_send(const Socket& sender, const Socket& receiver) {
  return receiver.state != SockState::connected || receiver.target.lock().get() == &sender;
}

void establish(Kernel& kernel, Task& self, int fd, Socket& listener, Socket& client) {
  auto server = make_socket(kernel, self, true, 0);
  server->host = listener.host;
  server->rcvbuf = listener.rcvbuf;
  server->name = listener.name;
  server->peer_name = client.name;
  client.peer_name = listener.name;
  server->state = client.state = SockState::connected;
  server->conn = client.conn = kernel.net().next_connection_id();
  server->peer = &client;
  client.peer = server.get();
  listener.accept_queue.push_back(std::move(server));
  record(kernel, EventKind::connect, &self, fd, &client);
  listener.waiters.notify_all();
  client.waiters.notify_all();
}

long connect_stream(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view name) {
  if (socket.state == SockState::connected) return -EISCONN;
  if (socket.state != SockState::open) return -EINVAL;
  for (;;) {
    std::shared_ptr<Socket> listener;
    if (const long err = find(kernel, name, true, listener)) return err;
    if (listener->state != SockState::listening) return -ECONNREFUSED;
    if (!backlog_full(*listener)) {
      establish(kernel, self, fd, *listener, socket);
      return 0;
    }
    // Unlike TCP there is no connection in progress: connect() itself waits for
    // room (unix_wait_for_peer()), or a non-blocking one fails with EAGAIN.
    if (const long r = wait_for(kernel, self, *listener, "connect", fd, socket.nonblocking)) return r;
  }
}

long connect_datagram(Kernel& kernel, Socket& socket, std::string_view name) {
  std::shared_ptr<Socket> peer;
  if (const long err = find(kernel, name, false, peer)) return err;
  if (!may_send(socket, *peer)) return -EPERM;
  socket.target = peer;
  socket.peer_name = peer->name;
  socket.state = SockState::connected;
  return 0;
}

}  // namespace

long unix_socket(Kernel& kernel, Task& self, int type, int protocol, int at) {
  if (protocol != 0 && protocol != AF_UNIX) return -EPROTONOSUPPORT;
  const int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (kind != SOCK_STREAM && kind != SOCK_DGRAM) return -ESOCKTNOSUPPORT;
  return kernel.install(self.process(), make_socket(kernel, self, kind == SOCK_STREAM, type), at);
}

long unix_datagram_pair(Kernel& kernel, Task& self, int type, int at0, int at1) {
  std::shared_ptr<Socket> ends[2] = {make_socket(kernel, self, false, type),
                                     make_socket(kernel, self, false, type)};
  for (int i = 0; i < 2; ++i) {
    ends[i]->state = SockState::connected;
    ends[i]->target = ends[1 - i];
  }
  kernel.install(self.process(), std::move(ends[0]), at0);
  kernel.install(self.process(), std::move(ends[1]), at1);
  return 0;
}

long unix_listen(Kernel& kernel, Task& self, int fd, Socket& socket, int backlog) {
  // No autobind here: Linux refuses to listen on an unnamed socket.
  if (socket.name.empty()) return -EINVAL;
  if (socket.state != SockState::open && socket.state != SockState::listening) return -EINVAL;
  socket.backlog = static_cast<unsigned>(backlog) > kSomaxconn ? kSomaxconn : backlog;
  socket.state = SockState::listening;
  record(kernel, EventKind::listen, &self, fd, &socket).value = socket.backlog;
  return 0;
}

long unix_accept(Kernel& kernel, Task& self, int fd, Socket& socket, int flags, int at) {
  const long r = stream_accept(kernel, self, fd, socket, nullptr, flags, at);
  // Room in the backlog again: connects waiting for it try again.
  if (r >= 0) socket.waiters.notify_all();
  return r;
}

long unix_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data, int flags,
               const std::string_view* to) {
  if (socket.stream) {
    if (to) return socket.state == SockState::connected ? -EISCONN : -EOPNOTSUPP;
    return stream_send(kernel, self, fd, socket, data, flags);
  }
  if (data.size() > kSndbuf - 32) return -EMSGSIZE;
  const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT);
  for (;;) {
    std::shared_ptr<Socket> receiver;
    if (to) {
      if (const long err = find(kernel, *to, false, receiver)) return err;
    } else {
      if (socket.state != SockState::connected) return -ENOTCONN;
      receiver = socket.target.lock();
      if (!receiver || receiver->state == SockState::closed) {
        // The peer's end is told once; the socket is unconnected from then on.
        socket.state = SockState::open;
        socket.target.reset();
        return -ECONNREFUSED;
      }
    }
    if (!may_send(socket, *receiver)) return -EPERM;
    if (receiver->datagrams.size() <= kMaxDatagramQueue) {
      receiver->datagrams.push_back({std::string(data), Address{}, socket.name});
      receiver->datagram_bytes += data.size();
      Event& event = record(kernel, EventKind::send, &self, fd, &socket);
      event.value = static_cast<std::int64_t>(data.size());
      if (kernel.trace().keep_payload()) event.data = data;
      receiver->waiters.notify_all();
      return static_cast<long>(data.size());
    }
    if (const long r = wait_for(kernel, self, *receiver, "send", fd, nonblocking)) return r;
  }
}

long unix_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out, std::size_t size,
               int flags, std::string* from) {
  if (socket.stream) {
    if (from) from->clear();
    return stream_recv(kernel, self, fd, socket, out, size, flags);
  }
  const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT);
  for (;;) {
    if (!socket.datagrams.empty()) {
      // Only a full queue has senders waiting for room.
      const bool was_full = socket.datagrams.size() > kMaxDatagramQueue;
      const long r = take_datagram(kernel, self, fd, socket, out, size, flags, nullptr, from);
      if (was_full && !(flags & MSG_PEEK)) socket.waiters.notify_all();
      return r;
    }
    if (const long r = wait_for(kernel, self, socket, "recv", fd, nonblocking)) return r;
  }
}

void unix_close(Kernel& kernel, Socket& socket) {
  // A path outlives its socket, as Linux's file does; an abstract name does not.
  if (!socket.name.empty() && socket.name[0] == '\0') {
    auto& names = kernel.net().unix_names;
    const auto it = names.find(socket.name);
    if (it != names.end() && it->second.lock().get() == &socket) names.erase(it);
  }
  // Senders waiting for room in its queue find it closed.
  socket.waiters.notify_all();
}

// --- the calls that take a name ---

long Kernel::bind_unix(Task& self, int fd, std::string_view name) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "bind");
  if (!socket->unix_domain) return result(self, fd, -EAFNOSUPPORT, "bind");
  if (!socket->name.empty()) return result(self, fd, -EINVAL, "bind");
  if (name.empty()) {
    if (const long err = autobind(*this, *socket)) return result(self, fd, err, "bind");
  } else {
    if (net_->unix_names.contains(name)) return result(self, fd, -EADDRINUSE, "bind");
    take_name(*this, *socket, std::string(name));
  }
  record(*this, EventKind::bind, &self, fd, socket.get());
  return 0;
}

long Kernel::connect_unix(Task& self, int fd, std::string_view name) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "connect");
  if (!socket->unix_domain) return result(self, fd, -EAFNOSUPPORT, "connect");
  if (name.empty()) return result(self, fd, -EINVAL, "connect");
  const long r = socket->stream ? connect_stream(*this, self, fd, *socket, name)
                                : connect_datagram(*this, *socket, name);
  return result(self, fd, r, "connect");
}

long Kernel::accept_unix(Task& self, int fd, std::string* peer, int flags, int at) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "accept");
  if (!socket->unix_domain) return result(self, fd, -EINVAL, "accept");
  if (!socket->stream) return result(self, fd, -EOPNOTSUPP, "accept");
  if (at >= 0 && self.process().fds_.contains(at)) return result(self, fd, -EBADF, "accept");
  const long r = unix_accept(*this, self, fd, *socket, flags, at);
  if (r >= 0 && peer) *peer = lookup(self, static_cast<int>(r))->peer_name;
  return result(self, fd, r, "accept");
}

long Kernel::sendto_unix(Task& self, int fd, const void* data, std::size_t size, int flags,
                         std::string_view to) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "send");
  if (!socket->unix_domain) return result(self, fd, -EAFNOSUPPORT, "send");
  if (to.empty()) return result(self, fd, -EINVAL, "send");
  const std::string_view bytes(static_cast<const char*>(data), size);
  return result(self, fd, unix_send(*this, self, fd, *socket, bytes, flags, &to), "send");
}

long Kernel::recvfrom_unix(Task& self, int fd, void* data, std::size_t size, int flags,
                           std::string* from) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "recv");
  if (!socket->unix_domain) return result(self, fd, -EINVAL, "recv");
  return result(self, fd, unix_recv(*this, self, fd, *socket, static_cast<char*>(data), size, flags, from),
                "recv");
}

long Kernel::name_unix(Task& self, int fd, bool peer, std::string* out) {
  begin_call(self);
  const char* call = peer ? "getpeername" : "getsockname";
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, call);
  if (!socket->unix_domain) return result(self, fd, -EINVAL, call);
  if (!peer) {
    *out = socket->name;
    return 0;
  }
  if (socket->state != SockState::connected) return result(self, fd, -ENOTCONN, call);
  *out = socket->peer_name;
  return 0;
}

long Kernel::unlink_unix(Task& self, std::string_view path) {
  begin_call(self);
  // Not a traced error: most unlinks are of real files, which the caller then removes.
  const auto it = net_->unix_names.find(path);
  if (path.empty() || path[0] == '\0' || it == net_->unix_names.end()) return -ENOENT;
  net_->unix_names.erase(it);
  return 0;
}

}  // namespace netsim
