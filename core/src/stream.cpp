#include "stream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blocking.hpp"
#include "cassette_tap.hpp"
#include "events.hpp"
#include "faults.hpp"
#include "net.hpp"
#include "transit.hpp"

namespace netsim {
namespace {

// Linux's net.core.somaxconn: the largest backlog listen() grants.
constexpr int kSomaxconn = 4096;

// Linux queues one more connection than the backlog asks for.
bool backlog_full(const Socket& listener) {
  return listener.accept_queue.size() > static_cast<std::size_t>(listener.backlog);
}

// The connection is made the moment the listener has room, before accept(), as
// Linux completes the handshake in the kernel.
void establish(Kernel& kernel, const Task* actor, int fd, Socket& listener, Socket& client) {
  auto server = std::make_shared<Socket>();
  server->id = kernel.net().next_socket_id();
  server->family = listener.family;
  server->host = listener.host;
  server->rcvbuf = listener.rcvbuf;
  server->local = as_family(*client.remote, listener.family);
  server->remote = as_family(*client.local, listener.family);
  server->state = client.state = SockState::connected;
  server->conn = client.conn = kernel.net().next_connection_id();
  server->peer = &client;
  client.peer = server.get();
  Socket& accepted = *server;
  tap_established(kernel, listener, client, accepted);
  listener.accept_queue.push_back(std::move(server));
  record(kernel, EventKind::connect, actor, fd, &client);
  kernel.faults().established(client, accepted);
  listener.waiters.notify_all();
  client.waiters.notify_all();
}

// The connection is gone: err is reported once, then nothing more can be sent or
// received. An RST that meets a socket which already saw the peer's FIN reports
// EPIPE, otherwise ECONNRESET, as Linux's tcp_reset() does.
void reset(Kernel& kernel, const Task* actor, int fd, Socket& socket) {
  socket.error = socket.eof ? EPIPE : ECONNRESET;
  socket.dead = true;
  socket.peer = nullptr;
  record(kernel, EventKind::reset, actor, fd, &socket).err = socket.error;
  socket.waiters.notify_all();
}

int take_error(Socket& socket) {
  const int err = socket.error;
  socket.error = 0;
  return err;
}

// Our FIN to the peer: at once, or after what is still crossing the link.
void send_fin(Kernel& kernel, Socket& socket, Socket& peer) {
  if (stream_direct(kernel, socket, peer)) {
    peer.eof = true;
    peer.waiters.notify_all();
  } else {
    stream_transmit(kernel, socket, peer, Segment::Kind::fin);
  }
}

// The listener stops taking connections (close, or shutdown(SHUT_RD)): those nobody
// accepted are reset, connects still waiting are refused, a blocked accept() wakes.
void stop_listening(Kernel& kernel, const Task* actor, Socket& socket) {
  for (const auto& unaccepted : socket.accept_queue) {
    if (Socket* client = unaccepted->peer) reset(kernel, actor, -1, *client);
  }
  socket.accept_queue.clear();
  for (const auto& weak : socket.syn_queue) {
    const std::shared_ptr<Socket> client = weak.lock();
    if (!client || client->state != SockState::connecting) continue;
    client->state = SockState::open;
    client->error = ECONNREFUSED;
    client->waiters.notify_all();
  }
  socket.syn_queue.clear();
  socket.waiters.notify_all();
}

// The connect is over: refused by an RST, or timed out.
void connect_failed(Socket& client, int err) {
  client.state = SockState::open;
  client.error = err;
  client.waiters.notify_all();
}

// A connect across a link: the SYN reaches `there` after the link's delay, and the
// answer (SYN-ACK, or RST from a closed port) comes back after the other way's, so a
// connect takes a round trip. A SYN or answer that is lost, or a path that is cut
// (no RST crosses a partition), leaves the SYN to be sent again after rto_initial,
// doubling; after syn_retries the connect fails with ETIMEDOUT (127 s by default).
void send_syn(Kernel& kernel, const std::weak_ptr<Socket>& weak, Host& there, Address to, int tries) {
  const std::shared_ptr<Socket> client = weak.lock();
  if (!client || client->state != SockState::connecting) return;
  Links& links = kernel.links();
  const int here = client->host->id;
  const TcpSettings& tcp = kernel.scenario().tcp;
  const Nanos now = kernel.clock().elapsed();
  const bool lost = links.cut(here, there.id) || links.cut(there.id, here) || links.held(here, there.id) ||
                    links.held(there.id, here) || links.lose(here, there.id) || links.lose(there.id, here);
  if (lost) {
    kernel.scheduler().call_at(now + backoff(tcp, tcp.rto_initial, tries), [&kernel, weak, &there, to, tries] {
      if (tries < kernel.scenario().tcp.syn_retries) {
        send_syn(kernel, weak, there, to, tries + 1);
      } else if (const std::shared_ptr<Socket> client = weak.lock();
                 client && client->state == SockState::connecting) {
        connect_failed(*client, ETIMEDOUT);
      }
    });
    return;
  }
  kernel.scheduler().call_at(links.arrival(here, there.id, 0, now), [&kernel, weak, &there, to, here] {
    const bool listening = kernel.net().find_receiver(there, true, to) != nullptr;
    const Nanos back = kernel.links().arrival(there.id, here, 0, kernel.clock().elapsed());
    kernel.scheduler().call_at(back, [&kernel, weak, &there, to, listening] {
      const std::shared_ptr<Socket> client = weak.lock();
      if (!client || client->state != SockState::connecting) return;
      Socket* listener = listening ? kernel.net().find_receiver(there, true, to) : nullptr;
      if (!listener) {
        client->remote.reset();
        connect_failed(*client, ECONNREFUSED);
      } else if (backlog_full(*listener)) {
        listener->syn_queue.push_back(weak);
      } else {
        establish(kernel, nullptr, -1, *listener, *client);
      }
    });
  });
}

}  // namespace

long stream_listen(Kernel& kernel, Task& self, int fd, Socket& socket, int backlog) {
  if (socket.state != SockState::open && socket.state != SockState::listening) return -EINVAL;
  if (!socket.local) {
    if (const int err = kernel.net().bind(socket, {Ip::any(socket.family), 0})) return err;
    record(kernel, EventKind::bind, &self, fd, &socket);
  }
  // A negative backlog becomes huge as an unsigned int, then somaxconn, as in Linux.
  socket.backlog = static_cast<unsigned>(backlog) > kSomaxconn ? kSomaxconn : backlog;
  socket.state = SockState::listening;
  record(kernel, EventKind::listen, &self, fd, &socket).value = socket.backlog;
  return 0;
}

long stream_accept(Kernel& kernel, Task& self, int fd, Socket& socket, Address* peer, int flags,
                   int at) {
  for (;;) {
    // Checked on every wake-up too: shutdown(SHUT_RD) from another thread ends a
    // blocked accept() with EINVAL, as on Linux.
    if (socket.state != SockState::listening) return -EINVAL;
    if (!socket.accept_queue.empty()) {
      std::shared_ptr<Socket> accepted = std::move(socket.accept_queue.front());
      socket.accept_queue.pop_front();
      // Room in the queue again: the oldest connect still waiting gets in.
      while (!backlog_full(socket) && !socket.syn_queue.empty()) {
        const std::shared_ptr<Socket> waiting = socket.syn_queue.front().lock();
        socket.syn_queue.pop_front();
        if (waiting && waiting->state == SockState::connecting)
          establish(kernel, &self, -1, socket, *waiting);
      }
      accepted->nonblocking = (flags & SOCK_NONBLOCK) != 0;
      if (peer) *peer = *accepted->remote;
      const int new_fd = kernel.install(self.process(), accepted, at);
      record(kernel, EventKind::accept, &self, new_fd, accepted.get());
      return new_fd;
    }
    if (const long r = wait_for(kernel, self, socket, "accept", fd, socket.nonblocking)) return r;
  }
}

long stream_connect(Kernel& kernel, Task& self, int fd, Socket& socket, const Address& to) {
  switch (socket.state) {
    case SockState::connected: return -EISCONN;
    case SockState::listening: return -EINVAL;
    case SockState::connecting:
      if (socket.nonblocking) return -EALREADY;
      break;
    default: {
      if (socket.error) return -take_error(socket);  // a refused non-blocking connect
      Host& here = *socket.host;
      Host* there = kernel.net().route(here, to.ip);
      if (!there) return -ENETUNREACH;
      if (!socket.local || socket.local->ip.is_any()) {
        const std::optional<Ip> source = kernel.net().source_for(here, socket.family, to.ip);
        if (!source) return -ENETUNREACH;
        if (!socket.local) {
          if (const int err = kernel.net().bind(socket, {*source, 0})) return err;
        }
        socket.local->ip = *source;
        record(kernel, EventKind::bind, &self, fd, &socket);
      }
      socket.remote = as_family(to, socket.family);
      // A non-blocking caller sees EINPROGRESS and finds ECONNREFUSED in SO_ERROR.
      auto refused = [&socket] {
        socket.remote.reset();
        if (!socket.nonblocking) return -ECONNREFUSED;
        socket.error = ECONNREFUSED;
        return -EINPROGRESS;
      };
      if (kernel.faults().refuse(self, fd, socket, *there, to.port)) return refused();
      if (!kernel.links().perfect(here.id, there->id) || !kernel.links().perfect(there->id, here.id)) {
        socket.state = SockState::connecting;
        send_syn(kernel, socket.weak_from_this(), *there, to, 0);
        if (socket.nonblocking) return -EINPROGRESS;
        break;
      }
      Socket* listener = kernel.net().find_receiver(*there, true, to);
      // Loopback answers a SYN to a closed port with RST at once.
      if (!listener) return refused();
      if (backlog_full(*listener)) {
        socket.state = SockState::connecting;
        listener->syn_queue.push_back(socket.weak_from_this());
      } else {
        establish(kernel, &self, fd, *listener, socket);
      }
      if (socket.nonblocking) return -EINPROGRESS;
    }
  }
  while (socket.state == SockState::connecting) {
    if (const long r = wait_for(kernel, self, socket, "connect", fd, false)) return r;
  }
  if (socket.error) {
    socket.remote.reset();
    return -take_error(socket);
  }
  return 0;
}

long stream_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data,
                 int flags) {
  // partial_write: the call takes no more, as a send into a nearly full buffer would.
  if (socket.max_send) data = data.substr(0, socket.max_send);
  const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT);
  std::size_t sent = 0;
  for (;;) {
    if (socket.error) return sent ? static_cast<long>(sent) : -take_error(socket);
    if (socket.wr_shut || socket.dead) return sent ? static_cast<long>(sent) : -EPIPE;
    if (socket.state == SockState::connecting) {
      if (const long r = wait_for(kernel, self, socket, "send", fd, nonblocking)) return r;
      continue;
    }
    if (socket.state != SockState::connected) return -ENOTCONN;
    if (!socket.peer) {
      // A Unix peer's close shuts our sending side at once (unix_stream_sendmsg()).
      if (socket.unix_domain) return sent ? static_cast<long>(sent) : -EPIPE;
      // The peer has closed: the bytes go out and its closed end answers with RST.
      reset(kernel, &self, fd, socket);
      return static_cast<long>(data.size());
    }
    if (sent == data.size()) return static_cast<long>(sent);
    Socket& peer = *socket.peer;
    std::size_t n = std::min(data.size() - sent, peer.room());
    if (socket.watched) n = std::min(n, kernel.faults().allowance(socket));
    if (n > 0) {
      const std::string_view chunk = data.substr(sent, n);
      Event& event = record(kernel, EventKind::send, &self, fd, &socket);
      event.value = static_cast<std::int64_t>(n);
      if (kernel.trace().keep_payload()) event.data = chunk;
      if (socket.tap) tap_sent(kernel, socket, chunk);  // the hot path: one test when not recording
      sent += n;
      if (stream_direct(kernel, socket, peer)) {
        peer.rx.append(chunk);
        peer.waiters.notify_all();
      } else {
        stream_transmit(kernel, socket, peer, Segment::Kind::data, chunk);
      }
      if (socket.watched) kernel.faults().sent(socket, n);
      continue;
    }
    if (nonblocking && sent) return static_cast<long>(sent);
    if (const long r = wait_for(kernel, self, socket, "send", fd, nonblocking))
      return sent ? static_cast<long>(sent) : r;
  }
}

long stream_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out, std::size_t size,
                 int flags) {
  if (socket.state == SockState::listening) return -ENOTCONN;
  if (socket.state == SockState::open) return socket.error ? -take_error(socket) : -ENOTCONN;
  const bool nonblocking = socket.nonblocking || (flags & MSG_DONTWAIT);
  const bool peek = flags & MSG_PEEK;
  const bool wait_all = (flags & MSG_WAITALL) && !peek;
  std::size_t got = 0;
  for (;;) {
    if (!socket.rx.empty() && got < size) {
      std::size_t n = std::min(size - got, socket.rx.size());
      // slice: a seeded share of what is there, as a slow network hands it over.
      if (socket.max_recv) n = std::min<std::size_t>(n, 1 + kernel.fault_rng().below(socket.max_recv));
      std::memcpy(out + got, socket.rx.view().data(), n);
      Event& event = record(kernel, EventKind::recv, &self, fd, &socket);
      event.value = static_cast<std::int64_t>(n);
      if (kernel.trace().keep_payload()) event.data = socket.rx.view().substr(0, n);
      got += n;
      if (!peek) {
        // Only a full buffer has writers waiting for room.
        const bool was_full = socket.room() == 0;
        socket.rx.consume(n);
        if (was_full && socket.peer) socket.peer->waiters.notify_all();
      }
      if (!wait_all || got == size) return static_cast<long>(got);
      continue;
    }
    if (got == size) return static_cast<long>(got);
    // After the peer's FIN a read ends the stream even when an RST followed (our write
    // to its closed end): the EPIPE is left for the next send. Linux checks SOCK_DONE
    // before sk_err in tcp_recvmsg().
    if (socket.eof) return static_cast<long>(got);
    if (socket.error) return got ? static_cast<long>(got) : -take_error(socket);
    if (socket.rd_shut || socket.dead) return static_cast<long>(got);
    if (nonblocking && got) return static_cast<long>(got);
    if (const long r = wait_for(kernel, self, socket, "recv", fd, nonblocking))
      return got ? static_cast<long>(got) : r;
  }
}

long stream_shutdown(Kernel& kernel, Task& self, int fd, Socket& socket, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  if (socket.state == SockState::listening) {
    // Linux disconnects a listener on SHUT_RD (servers use it to wake a thread blocked
    // in accept()); SHUT_WR alone leaves it listening. Either way the call succeeds.
    if (how != SHUT_WR) {
      socket.state = SockState::open;
      stop_listening(kernel, &self, socket);
    }
    record(kernel, EventKind::shutdown, &self, fd, &socket).value = how;
    return 0;
  }
  // A reset connection is closed, as Linux's TCP_CLOSE state: nothing to shut down.
  if (socket.state != SockState::connected || socket.dead) return -ENOTCONN;
  if (how != SHUT_WR) {
    socket.rd_shut = true;
    socket.waiters.notify_all();
  }
  if (how != SHUT_RD && !socket.wr_shut) {
    socket.wr_shut = true;
    if (socket.tap) tap_closed(kernel, socket);
    if (socket.peer) send_fin(kernel, socket, *socket.peer);
    socket.waiters.notify_all();
  }
  record(kernel, EventKind::shutdown, &self, fd, &socket).value = how;
  return 0;
}

void stream_close(Kernel& kernel, const Task* actor, Socket& socket) {
  if (socket.state == SockState::listening) {
    stop_listening(kernel, actor, socket);
  } else if (socket.peer) {
    if (socket.tap) tap_closed(kernel, socket);
    Socket& peer = *socket.peer;
    peer.peer = nullptr;
    socket.peer = nullptr;
    if (socket.rx.empty()) {
      send_fin(kernel, socket, peer);
    } else if (stream_direct(kernel, socket, peer)) {
      reset(kernel, actor, -1, peer);  // unread data: RST instead of FIN
    } else {
      stream_transmit(kernel, socket, peer, Segment::Kind::rst);
    }
  }
  socket.state = SockState::closed;
  socket.waiters.notify_all();
}

void stream_reset(Kernel& kernel, Socket& socket) { reset(kernel, nullptr, -1, socket); }

void stream_fault(Kernel& kernel, Socket& end, FaultKind kind) {
  Socket* other = end.peer;
  Socket* const ends[] = {&end, other};
  for (Socket* socket : ends) {
    if (!socket || socket->state != SockState::connected || socket->dead) continue;
    switch (kind) {
      case FaultKind::reset:
        reset(kernel, nullptr, -1, *socket);
        break;
      case FaultKind::close:
        // A FIN each way, as a proxy that closes both its connections: reads end, and
        // what is sent after meets a closed end (RST, then EPIPE).
        socket->eof = true;
        socket->peer = nullptr;
        socket->waiters.notify_all();
        break;
      default:
        socket->blackholed = true;
        break;
    }
  }
}

short stream_readiness(const Socket& socket) {
  short events = socket.error ? POLLERR : 0;
  switch (socket.state) {
    case SockState::listening:
      return socket.accept_queue.empty() ? 0 : POLLIN;
    case SockState::connecting:
      return 0;
    case SockState::open:
      return events | POLLOUT | POLLHUP;
    case SockState::closed:
      return POLLNVAL;
    case SockState::connected:
      break;
  }
  // Linux's RCV_SHUTDOWN: the peer's FIN, our own SHUT_RD, or a reset (tcp_done() sets
  // both directions shut). tcp_poll() reports it as POLLRDHUP, and both directions
  // shut as POLLHUP.
  const bool rcv_shutdown = socket.eof || socket.rd_shut || socket.dead;
  // Ready means "would not block": an error or end of stream is ready too.
  if (!socket.rx.empty() || rcv_shutdown || socket.error) events |= POLLIN;
  if (rcv_shutdown) events |= POLLRDHUP;
  if (socket.wr_shut || socket.dead || !socket.peer || socket.peer->room() > 0) events |= POLLOUT;
  // A Unix stream whose peer is gone has both directions shut (unix_release_sock()
  // sets SHUTDOWN_MASK on it); a TCP one only the receive side.
  const bool peer_gone = socket.unix_domain && socket.eof && !socket.peer;
  if (socket.dead || peer_gone || (rcv_shutdown && socket.wr_shut)) events |= POLLHUP;
  return events;
}

}  // namespace netsim
