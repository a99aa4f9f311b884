// Stream (TCP-like) sockets: each test runs C++ tasks on the virtual network, records
// what the calls returned, and checks it against what Linux does once the run is over
// (assertions inside a task would throw across the fiber boundary).
#include <algorithm>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

bool in_ephemeral_range(std::uint16_t port) { return port >= 32768 && port <= 60999; }

// Where `line` (a whole "name: text" line) starts in the transcript; npos if absent.
std::size_t line_at(const std::string& transcript, const std::string& line) {
  const std::size_t at = transcript.find(line + "\n");
  if (at == std::string::npos || (at > 0 && transcript[at - 1] != '\n')) return std::string::npos;
  return at;
}

// Blocking poll of one descriptor; returns its revents.
short poll_one(Sys& sys, int fd, short events, std::optional<Nanos> timeout = std::nullopt) {
  pollfd entry{fd, events, 0};
  sys.poll(std::span<pollfd>(&entry, 1), timeout);
  return entry.revents;
}

// Reads until `n` bytes arrived or the stream ended.
std::string recv_exactly(Sys& sys, int fd, std::size_t n) {
  std::string all;
  while (all.size() < n) {
    const std::string chunk = sys.recv(fd, n - all.size());
    if (chunk.empty()) break;
    all += chunk;
  }
  return all;
}

// A listening TCP socket on 0.0.0.0:port.
int listen_on_any(Sys& sys, std::uint16_t port) {
  const int fd = sys.socket(AF_INET, SOCK_STREAM);
  sys.bind(fd, {Ip::any(Family::inet), port});
  sys.listen(fd, 16);
  return fd;
}

std::uint16_t ephemeral_port_for_seed(std::uint64_t seed) {
  Simulation sim(Config{.seed = seed});
  std::uint16_t port = 0;
  sim.spawn("binder", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(fd, loopback(0));
    port = sys.getsockname(fd).port;
  });
  run_checked(sim);
  return port;
}

}  // namespace

// --- socket, bind, listen, accept, connect ---

TEST_CASE("stream: bind to an explicit port, listen, connect, accept returns the peer", "[stream]") {
  Simulation sim;
  Address accepted_peer, server_local, server_remote, client_local, client_remote;
  std::string received;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(listener, loopback(8080));
    sys.listen(listener, 4);
    const int conn = sys.accept(listener, &accepted_peer);
    server_local = sys.getsockname(conn);
    server_remote = sys.getpeername(conn);
    received = sys.recv(conn, 100);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, loopback(8080));
    client_local = sys.getsockname(fd);
    client_remote = sys.getpeername(fd);
    sys.send(fd, "hi");
    sys.sleep(kSecond);  // let the server read before the run ends
  });
  run_checked(sim);
  CHECK(server_local.str() == "127.0.0.1:8080");
  CHECK(client_remote.str() == "127.0.0.1:8080");
  // The client got an implicit ephemeral port, and the server sees exactly that.
  CHECK(client_local.ip == kLoopback);
  CHECK(in_ephemeral_range(client_local.port));
  CHECK(accepted_peer.str() == client_local.str());
  CHECK(server_remote.str() == client_local.str());
  CHECK(received == "hi");
}

TEST_CASE("stream: bind to port 0 picks an ephemeral port from the seed", "[stream]") {
  std::set<std::uint16_t> ports;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const std::uint16_t port = ephemeral_port_for_seed(seed);
    INFO("seed " << seed << " port " << port);
    CHECK(in_ephemeral_range(port));
    CHECK(ephemeral_port_for_seed(seed) == port);  // same seed, same port
    ports.insert(port);
  }
  CHECK(ports.size() > 1);  // different seeds do not all agree
}

TEST_CASE("stream: listen records its backlog; a listener without bind gets a port", "[stream]") {
  Simulation sim;
  Address local;
  int acceptconn = -1, plain_acceptconn = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int plain = sys.socket(AF_INET, SOCK_STREAM);
    plain_acceptconn = sys.getsockopt(plain, SOL_SOCKET, SO_ACCEPTCONN);
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.listen(fd, 7);  // binds to 0.0.0.0 and an ephemeral port, as Linux does
    local = sys.getsockname(fd);
    acceptconn = sys.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN);
  });
  run_checked(sim);
  CHECK(plain_acceptconn == 0);
  CHECK(acceptconn == 1);
  CHECK(local.ip == Ip::any(Family::inet));
  CHECK(in_ephemeral_range(local.port));
  bool found = false;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::listen) {
      found = true;
      CHECK(e.value == 7);
    }
  CHECK(found);
}

TEST_CASE("stream: getsockname and getpeername; ENOTCONN before connecting", "[stream]") {
  Simulation sim;
  std::string fresh_name, listener_name, accepted_name;
  int fresh_peer_err = 0, listener_peer_err = 0;
  sim.spawn("p", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    fresh_name = sys.getsockname(fd).str();
    fresh_peer_err = errno_of([&] { sys.getpeername(fd); });
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(listener, {Ip::any(Family::inet), 9000});
    sys.listen(listener, 4);
    listener_name = sys.getsockname(listener).str();
    listener_peer_err = errno_of([&] { sys.getpeername(listener); });
    // A connection accepted on a wildcard listener has the address it was reached at.
    sys.connect(fd, loopback(9000));
    accepted_name = sys.getsockname(sys.accept(listener)).str();
  });
  run_checked(sim);
  CHECK(fresh_name == "0.0.0.0:0");
  CHECK(fresh_peer_err == ENOTCONN);
  CHECK(listener_name == "0.0.0.0:9000");
  CHECK(listener_peer_err == ENOTCONN);
  CHECK(accepted_name == "127.0.0.1:9000");
}

// --- send and recv ---

TEST_CASE("stream: recv(n) returns n bytes when more are waiting, in order", "[stream]") {
  Simulation sim;
  std::vector<std::string> reads;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);  // both sends are queued by now
    reads.push_back(sys.recv(conn, 3));
    reads.push_back(sys.recv(conn, 4));
    reads.push_back(sys.recv(conn, 100));
    sys.send(conn, "done");
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "abcdef");
    sys.send(fd, "ghij");
    sys.recv(fd, 10);
  });
  run_checked(sim);
  REQUIRE(reads.size() == 3);
  CHECK(reads[0] == "abc");
  CHECK(reads[1] == "defg");
  CHECK(reads[2] == "hij");
}

TEST_CASE("stream: MSG_PEEK returns data without consuming it", "[stream]") {
  Simulation sim;
  std::string peek1, peek2, read, rest;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    peek1 = sys.recv(conn, 3, MSG_PEEK);  // blocks until data arrives
    peek2 = sys.recv(conn, 100, MSG_PEEK);
    read = sys.recv(conn, 100);
    sys.send(conn, "x");
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "hello");
    rest = sys.recv(fd, 10);
  });
  run_checked(sim);
  CHECK(peek1 == "hel");
  CHECK(peek2 == "hello");
  CHECK(read == "hello");
  CHECK(rest == "x");
}

TEST_CASE("stream: MSG_WAITALL waits for the whole count, or the end of stream", "[stream]") {
  Simulation sim;
  std::string all, short_read;
  Nanos all_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    all = sys.recv(conn, 8, MSG_WAITALL);
    all_at = sys.monotonic();
    short_read = sys.recv(conn, 100, MSG_WAITALL);  // only "xyz" comes, then EOF
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "abc");
    sys.sleep(kSecond);
    sys.send(fd, "defgh");
    sys.sleep(kSecond);
    sys.send(fd, "xyz");
    sys.shutdown(fd, SHUT_WR);
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(all == "abcdefgh");
  CHECK(all_at == kSecond);  // not returned after the first 3 bytes
  CHECK(short_read == "xyz");
}

// --- finite buffers ---

TEST_CASE("stream: a blocking send waits while the peer's receive buffer is full", "[stream]") {
  Simulation sim(Config{.socket_buffer = 1024});
  const std::string payload = [] {
    std::string s;
    for (int i = 0; i < 3000; ++i) s += static_cast<char>('a' + i % 26);
    return s;
  }();
  std::string received;
  Nanos sent_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);  // the client fills the buffer meanwhile
    sys.print("draining");
    received = recv_exactly(sys, conn, payload.size());
    sys.send(conn, "ok");
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    const std::size_t n = sys.send(fd, payload);
    sent_at = sys.monotonic();
    sys.print("sent " + std::to_string(n));
    sys.recv(fd, 10);
  });
  run_checked(sim);
  const std::string transcript = sim.transcript();
  INFO(transcript);
  const std::size_t draining = line_at(transcript, "server: draining");
  const std::size_t sent = line_at(transcript, "client: sent 3000");
  REQUIRE(draining != std::string::npos);
  REQUIRE(sent != std::string::npos);
  CHECK(draining < sent);
  CHECK(sent_at >= kSecond);
  CHECK(received == payload);  // order kept across many partial transfers
}

TEST_CASE("stream: SO_RCVBUF is doubled, as Linux does, and bounds what a sender can queue",
          "[stream]") {
  Simulation sim;
  int rcvbuf = -1;
  std::size_t first = 0;
  int second_err = 0;
  std::size_t drained = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.setsockopt(listener, SOL_SOCKET, SO_RCVBUF, 4000);  // inherited by accepted sockets
    sys.bind(listener, loopback(9000));
    sys.listen(listener, 4);
    const int conn = sys.accept(listener);
    rcvbuf = sys.getsockopt(conn, SOL_SOCKET, SO_RCVBUF);
    sys.sleep(kSecond);
    drained = sys.recv(conn, 100000).size();
    sys.send(conn, "ok");
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    first = sys.send(fd, std::string(20000, 'x'), MSG_DONTWAIT);
    second_err = errno_of([&] { sys.send(fd, "more", MSG_DONTWAIT); });
    sys.recv(fd, 10);
  });
  run_checked(sim);
  CHECK(rcvbuf == 8000);
  CHECK(first == 8000);
  CHECK(second_err == EAGAIN);
  CHECK(drained == 8000);
}

TEST_CASE("stream: a non-blocking send returns a partial count, then EAGAIN, then room again",
          "[stream]") {
  Simulation sim(Config{.socket_buffer = 1000});
  std::size_t first = 0, after_drain = 0;
  int second_err = 0;
  short writable_before = -1, writable_after = 0;
  Nanos writable_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);
    recv_exactly(sys, conn, 1000);
    sys.recv(conn, 1);  // keeps the connection until the client closes
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, loopback(9000));
    sys.set_nonblocking(fd);
    first = sys.send(fd, std::string(1500, 'x'));
    second_err = errno_of([&] { sys.send(fd, "y"); });
    writable_before = poll_one(sys, fd, POLLOUT, 0);
    writable_after = poll_one(sys, fd, POLLOUT);  // waits for the server to drain
    writable_at = sys.monotonic();
    after_drain = sys.send(fd, std::string(1500, 'z'));
  });
  run_checked(sim);
  CHECK(first == 1000);
  CHECK(second_err == EAGAIN);
  CHECK(writable_before == 0);
  CHECK((writable_after & POLLOUT) != 0);
  CHECK(writable_at >= kSecond);
  CHECK(after_drain == 1000);
}

// --- shutdown ---

TEST_CASE("stream: SHUT_WR half-closes: the peer reads the rest, then EOF, and can still reply",
          "[stream]") {
  Simulation sim;
  std::string request, eof1, eof2, reply, client_eof;
  int send_after_shut = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);  // the request and the FIN are both queued by now
    request = sys.recv(conn, 100);
    eof1 = sys.recv(conn, 100);
    eof2 = sys.recv(conn, 100);  // EOF stays EOF
    sys.send(conn, "response");
    sys.close(conn);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "request");
    sys.shutdown(fd, SHUT_WR);
    send_after_shut = errno_of([&] { sys.send(fd, "late"); });
    reply = sys.recv(fd, 100);
    client_eof = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(request == "request");
  CHECK(eof1.empty());
  CHECK(eof2.empty());
  CHECK(send_after_shut == EPIPE);
  CHECK(reply == "response");
  CHECK(client_eof.empty());
}

TEST_CASE("stream: SHUT_RD makes recv return EOF at once; the write side stays open", "[stream]") {
  Simulation sim;
  std::string eof, got, later;
  Nanos eof_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.shutdown(conn, SHUT_RD);
    eof = sys.recv(conn, 100);  // the client sends nothing: would block without SHUT_RD
    eof_at = sys.monotonic();
    sys.send(conn, "still writable");
    sys.sleep(kSecond);
    later = sys.recv(conn, 100);  // Linux TCP still queues what arrives after SHUT_RD
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    got = sys.recv(fd, 100);
    sys.send(fd, "later");
    sys.sleep(2 * kSecond);
  });
  run_checked(sim);
  CHECK(eof.empty());
  CHECK(eof_at == 0);
  CHECK(got == "still writable");
  CHECK(later == "later");
}

TEST_CASE("stream: SHUT_RDWR ends both directions; the peer reads EOF", "[stream]") {
  Simulation sim;
  std::string server_recv, client_recv;
  int send_err = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.shutdown(conn, SHUT_RDWR);
    server_recv = sys.recv(conn, 100);
    send_err = errno_of([&] { sys.send(conn, "x"); });
    sys.sleep(kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    client_recv = sys.recv(fd, 100);  // EOF, not a block until the server exits
  });
  run_checked(sim);
  CHECK(server_recv.empty());
  CHECK(send_err == EPIPE);
  CHECK(client_recv.empty());
  bool shutdown_traced = false;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::shutdown && e.value == SHUT_RDWR) shutdown_traced = true;
  CHECK(shutdown_traced);
}

TEST_CASE("stream: poll reports shutdowns as Linux's tcp_poll does", "[stream]") {
  Simulation sim;
  short rd = 0, rdwr = 0, wr = 0, peer_of_wr = 0;
  constexpr short kAll = POLLIN | POLLOUT | POLLRDHUP;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int a = sys.accept(listener);
    const int b = sys.accept(listener);
    const int c = sys.accept(listener);
    sys.shutdown(a, SHUT_RD);
    rd = poll_one(sys, a, kAll, 0);
    sys.shutdown(b, SHUT_RDWR);
    rdwr = poll_one(sys, b, kAll, 0);
    sys.shutdown(c, SHUT_WR);
    wr = poll_one(sys, c, kAll, 0);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    connect_to(sys, 9000);
    connect_to(sys, 9000);
    const int c = connect_to(sys, 9000);
    sys.sleep(kSecond);
    peer_of_wr = poll_one(sys, c, kAll, 0);
  });
  run_checked(sim);
  // Values read from Linux 6.x with the same sequence on real sockets.
  CHECK(rd == (POLLIN | POLLOUT | POLLRDHUP));
  CHECK(rdwr == (POLLIN | POLLOUT | POLLHUP | POLLRDHUP));
  CHECK(wr == POLLOUT);
  CHECK(peer_of_wr == (POLLIN | POLLOUT | POLLRDHUP));
}

TEST_CASE("stream: shutdown errors: ENOTCONN unconnected, EINVAL for a bad how", "[stream]") {
  Simulation sim;
  int unconnected = 0, bad_how = 0, bad_how_connected = 0, closed = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    bad_how_connected = errno_of([&] { sys.shutdown(conn, 3); });
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    unconnected = errno_of([&] { sys.shutdown(fd, SHUT_WR); });
    bad_how = errno_of([&] { sys.shutdown(fd, 42); });  // how is checked first
    sys.connect(fd, loopback(9000));
    sys.close(fd);
    closed = errno_of([&] { sys.shutdown(fd, SHUT_WR); });
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(unconnected == ENOTCONN);
  CHECK(bad_how == EINVAL);
  CHECK(bad_how_connected == EINVAL);
  CHECK(closed == EBADF);
}

TEST_CASE("stream: shutdown(SHUT_RD) on a listener stops it and wakes a blocked accept "
          "with EINVAL",
          "[stream]") {
  Simulation sim;
  int wr_err = -1, rdwr_err = -1, rd_err = -1, acceptconn_after_wr = -1, acceptconn_after_rd = -1;
  int blocked_accept = 0, reset_err = 0, refused = 0, relisten = -1, reconnect = -1;
  Nanos woken_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int idle = listen_on(sys, 9000);
    const int busy = listen_on(sys, 9001);
    // SHUT_WR alone changes nothing on a listener, and succeeds.
    wr_err = errno_of([&] { sys.shutdown(idle, SHUT_WR); });
    acceptconn_after_wr = sys.getsockopt(idle, SOL_SOCKET, SO_ACCEPTCONN);
    sys.spawn_thread("acceptor", [&, idle](Sys& thread) {
      blocked_accept = errno_of([&] { thread.accept(idle); });
      woken_at = thread.monotonic();
    });
    sys.sleep(kSecond);
    rdwr_err = errno_of([&] { sys.shutdown(idle, SHUT_RDWR); });
    rd_err = errno_of([&] { sys.shutdown(busy, SHUT_RD); });  // a connection is queued
    acceptconn_after_rd = sys.getsockopt(busy, SOL_SOCKET, SO_ACCEPTCONN);
    sys.sleep(2 * kSecond);
    relisten = errno_of([&] { sys.listen(busy, 4); });  // still bound to its port
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int queued = connect_to(sys, 9001);
    sys.sleep(2 * kSecond);
    reset_err = errno_of([&] { sys.recv(queued, 10); });
    const int late = sys.socket(AF_INET, SOCK_STREAM);
    refused = errno_of([&] { sys.connect(late, loopback(9001)); });
    sys.sleep(2 * kSecond);
    const int again = sys.socket(AF_INET, SOCK_STREAM);
    reconnect = errno_of([&] { sys.connect(again, loopback(9001)); });
  });
  run_checked(sim);
  CHECK(wr_err == 0);
  CHECK(acceptconn_after_wr == 1);
  CHECK(rdwr_err == 0);
  CHECK(rd_err == 0);
  CHECK(acceptconn_after_rd == 0);
  CHECK(blocked_accept == EINVAL);
  CHECK(woken_at == kSecond);
  CHECK(reset_err == ECONNRESET);
  CHECK(refused == ECONNREFUSED);
  CHECK(relisten == 0);
  CHECK(reconnect == 0);
}

// --- close ---

TEST_CASE("stream: close is seen by the peer as EOF after its data", "[stream]") {
  Simulation sim;
  std::string data, eof;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.send(conn, "bye");
    sys.close(conn);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    data = sys.recv(fd, 100);
    eof = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(data == "bye");
  CHECK(eof.empty());
}

TEST_CASE("stream: closing with unread data resets the peer: queued data, then ECONNRESET",
          "[stream]") {
  Simulation sim;
  std::string queued, after;
  int reset_err = 0, send_err = 0, peer_err = 0, shutdown_err = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);  // "ping" is in our buffer, unread
    sys.send(conn, "queued");
    sys.close(conn);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "ping");
    sys.sleep(2 * kSecond);
    queued = sys.recv(fd, 100);
    reset_err = errno_of([&] { sys.recv(fd, 100); });
    after = sys.recv(fd, 100);  // the error is reported once
    send_err = errno_of([&] { sys.send(fd, "x"); });
    peer_err = errno_of([&] { sys.getpeername(fd); });
    shutdown_err = errno_of([&] { sys.shutdown(fd, SHUT_WR); });
  });
  run_checked(sim);
  CHECK(queued == "queued");
  CHECK(reset_err == ECONNRESET);
  CHECK(after.empty());
  CHECK(send_err == EPIPE);
  // The reset connection is closed (TCP_CLOSE on Linux).
  CHECK(peer_err == ENOTCONN);
  CHECK(shutdown_err == ENOTCONN);
  bool reset_traced = false;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::reset && e.err == ECONNRESET) reset_traced = true;
  CHECK(reset_traced);
}

TEST_CASE("stream: send after a reset fails with ECONNRESET once, then EPIPE", "[stream]") {
  Simulation sim;
  int first = 0, second = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.sleep(kSecond);
    sys.close(conn);  // "ping" unread: RST
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "ping");
    sys.sleep(2 * kSecond);
    first = errno_of([&] { sys.send(fd, "a"); });
    second = errno_of([&] { sys.send(fd, "b"); });
  });
  run_checked(sim);
  CHECK(first == ECONNRESET);
  CHECK(second == EPIPE);
}

TEST_CASE("stream: writing after the peer closed: the first send succeeds, then EPIPE",
          "[stream]") {
  Simulation sim;
  std::string eof, half_closed_peer;
  long first = -1;
  int second = 0, third = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.close(conn);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    eof = sys.recv(fd, 100);
    half_closed_peer = sys.getpeername(fd).str();  // CLOSE_WAIT is still connected
    first = static_cast<long>(sys.send(fd, "hello"));
    second = errno_of([&] { sys.send(fd, "again"); });
    third = errno_of([&] { sys.send(fd, "again"); });
  });
  run_checked(sim);
  CHECK(eof.empty());
  CHECK(half_closed_peer == "127.0.0.1:9000");
  CHECK(first == 5);
  CHECK(second == EPIPE);
  CHECK(third == EPIPE);
}

TEST_CASE("stream: after writing to a closed peer, recv still reports EOF and the EPIPE waits "
          "for the next send",
          "[stream]") {
  Simulation sim;
  std::string eof, eof_again;
  long first = -1;
  int second = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.close(conn);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    first = static_cast<long>(sys.send(fd, "request"));  // the RST comes back at once
    eof = sys.recv(fd, 100);  // Linux: 0, the FIN came first; not EPIPE
    second = errno_of([&] { sys.send(fd, "more"); });
    eof_again = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(first == 7);
  CHECK(eof.empty());
  CHECK(second == EPIPE);
  CHECK(eof_again.empty());
}

// --- errors ---

TEST_CASE("stream: connect to a port nobody listens on fails with ECONNREFUSED", "[stream]") {
  Simulation sim;
  int err = 0, peer_err = 0, bound_not_listening = 0;
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    err = errno_of([&] { sys.connect(fd, loopback(9999)); });
    peer_err = errno_of([&] { sys.getpeername(fd); });
    // A socket bound to the port but not listening does not take connections either.
    const int bound = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(bound, loopback(9998));
    const int fd2 = sys.socket(AF_INET, SOCK_STREAM);
    bound_not_listening = errno_of([&] { sys.connect(fd2, loopback(9998)); });
  });
  run_checked(sim);
  CHECK(err == ECONNREFUSED);
  CHECK(peer_err == ENOTCONN);
  CHECK(bound_not_listening == ECONNREFUSED);
  bool traced = false;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::error && e.err == ECONNREFUSED && e.data == "connect") traced = true;
  CHECK(traced);
}

TEST_CASE("stream: bind to an address in use fails with EADDRINUSE, wildcards included",
          "[stream]") {
  Simulation sim;
  int same = 0, specific_after_any = 0, any_after_specific = 0, other_port = -1;
  int other_loopback = -1;
  sim.spawn("p", [&](Sys& sys) {
    const int a = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(a, loopback(7000));
    const int b = sys.socket(AF_INET, SOCK_STREAM);
    same = errno_of([&] { sys.bind(b, loopback(7000)); });
    other_port = errno_of([&] { sys.bind(b, loopback(7001)); });

    const int c = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(c, {Ip::any(Family::inet), 7100});
    const int d = sys.socket(AF_INET, SOCK_STREAM);
    specific_after_any = errno_of([&] { sys.bind(d, loopback(7100)); });

    const int e = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(e, loopback(7200));
    const int f = sys.socket(AF_INET, SOCK_STREAM);
    any_after_specific = errno_of([&] { sys.bind(f, {Ip::any(Family::inet), 7200}); });

    // Two different specific addresses may share a port.
    const int g = sys.socket(AF_INET, SOCK_STREAM);
    other_loopback = errno_of([&] { sys.bind(g, {Ip::v4(127, 0, 0, 2), 7200}); });
  });
  run_checked(sim);
  CHECK(same == EADDRINUSE);
  CHECK(other_port == 0);
  CHECK(specific_after_any == EADDRINUSE);
  CHECK(any_after_specific == EADDRINUSE);
  CHECK(other_loopback == 0);
}

TEST_CASE("stream: a dual-stack :: listener conflicts with 0.0.0.0 unless IPV6_V6ONLY",
          "[stream]") {
  Simulation sim;
  int dual = 0, dual_reverse = 0, v6only = -1;
  std::string v4_peer_family, v6_accepted_on;
  sim.spawn("server", [&](Sys& sys) {
    const int v4 = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(v4, {Ip::any(Family::inet), 8000});
    const int v6 = sys.socket(AF_INET6, SOCK_STREAM);
    dual = errno_of([&] { sys.bind(v6, {Ip::any(Family::inet6), 8000}); });

    const int v6first = sys.socket(AF_INET6, SOCK_STREAM);
    sys.bind(v6first, {Ip::any(Family::inet6), 8100});
    const int v4second = sys.socket(AF_INET, SOCK_STREAM);
    dual_reverse = errno_of([&] { sys.bind(v4second, {Ip::any(Family::inet), 8100}); });

    const int only = sys.socket(AF_INET6, SOCK_STREAM);
    sys.setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    v6only = errno_of([&] { sys.bind(only, {Ip::any(Family::inet6), 8000}); });
    if (v6only != 0) return;
    // Both listen: IPv4 clients reach the IPv4 socket, IPv6 clients the IPv6 one.
    sys.listen(v4, 4);
    sys.listen(only, 4);
    Address peer;
    sys.accept(v4, &peer);
    v4_peer_family = peer.ip.family == Family::inet ? "inet" : "inet6";
    sys.accept(only, &peer);
    v6_accepted_on = peer.ip.str();
  });
  sim.spawn("client", [&](Sys& sys) {
    const int a = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(a, loopback(8000));
    const int b = sys.socket(AF_INET6, SOCK_STREAM);
    sys.connect(b, {Ip::loopback(Family::inet6), 8000});
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(dual == EADDRINUSE);
  CHECK(dual_reverse == EADDRINUSE);
  CHECK(v6only == 0);
  CHECK(v4_peer_family == "inet");
  CHECK(v6_accepted_on == "::1");
}

TEST_CASE("stream: SO_REUSEPORT on both sockets lets them share a port", "[stream]") {
  Simulation sim;
  int both = -1, only_second = 0, only_first = 0;
  sim.spawn("p", [&](Sys& sys) {
    const int a = sys.socket(AF_INET, SOCK_STREAM);
    sys.setsockopt(a, SOL_SOCKET, SO_REUSEPORT, 1);
    sys.bind(a, loopback(7000));
    const int b = sys.socket(AF_INET, SOCK_STREAM);
    sys.setsockopt(b, SOL_SOCKET, SO_REUSEPORT, 1);
    both = errno_of([&] { sys.bind(b, loopback(7000)); });

    const int c = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(c, loopback(7100));
    const int d = sys.socket(AF_INET, SOCK_STREAM);
    sys.setsockopt(d, SOL_SOCKET, SO_REUSEPORT, 1);
    only_second = errno_of([&] { sys.bind(d, loopback(7100)); });

    const int e = sys.socket(AF_INET, SOCK_STREAM);
    sys.setsockopt(e, SOL_SOCKET, SO_REUSEPORT, 1);
    sys.bind(e, loopback(7200));
    const int f = sys.socket(AF_INET, SOCK_STREAM);
    only_first = errno_of([&] { sys.bind(f, loopback(7200)); });
  });
  run_checked(sim);
  CHECK(both == 0);
  CHECK(only_second == EADDRINUSE);
  CHECK(only_first == EADDRINUSE);
}

TEST_CASE("stream: binding a socket twice fails with EINVAL", "[stream]") {
  Simulation sim;
  int again = 0, other = 0;
  Address kept;
  sim.spawn("p", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(fd, loopback(7000));
    again = errno_of([&] { sys.bind(fd, loopback(7000)); });
    other = errno_of([&] { sys.bind(fd, loopback(7001)); });
    kept = sys.getsockname(fd);
  });
  run_checked(sim);
  CHECK(again == EINVAL);
  CHECK(other == EINVAL);
  CHECK(kept.str() == "127.0.0.1:7000");
}

TEST_CASE("stream: bind to an address the host does not have fails with EADDRNOTAVAIL",
          "[stream]") {
  Simulation sim;
  int foreign = 0, v6_foreign = 0;
  sim.spawn("p", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    foreign = errno_of([&] { sys.bind(fd, {Ip::v4(10, 1, 2, 3), 7000}); });
    const int fd6 = sys.socket(AF_INET6, SOCK_STREAM);
    v6_foreign = errno_of([&] { sys.bind(fd6, {*Ip::parse("2001:db8::1"), 7000}); });
  });
  run_checked(sim);
  CHECK(foreign == EADDRNOTAVAIL);
  CHECK(v6_foreign == EADDRNOTAVAIL);
}

TEST_CASE("stream: calls on a closed descriptor fail with EBADF", "[stream]") {
  Simulation sim;
  std::vector<int> errs;
  sim.spawn("p", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.close(fd);
    errs.push_back(errno_of([&] { sys.send(fd, "x"); }));
    errs.push_back(errno_of([&] { sys.recv(fd, 1); }));
    errs.push_back(errno_of([&] { sys.bind(fd, loopback(7000)); }));
    errs.push_back(errno_of([&] { sys.listen(fd, 1); }));
    errs.push_back(errno_of([&] { sys.accept(fd); }));
    errs.push_back(errno_of([&] { sys.connect(fd, loopback(7000)); }));
    errs.push_back(errno_of([&] { sys.getsockname(fd); }));
    errs.push_back(errno_of([&] { sys.close(fd); }));
    errs.push_back(errno_of([&] { sys.close(99); }));  // never opened
  });
  run_checked(sim);
  REQUIRE(errs.size() == 9);
  for (std::size_t i = 0; i < errs.size(); ++i) {
    INFO("call " << i);
    CHECK(errs[i] == EBADF);
  }
}

TEST_CASE("stream: listen and accept on a datagram socket fail with EOPNOTSUPP", "[stream]") {
  Simulation sim;
  int listen_err = 0, accept_err = 0;
  sim.spawn("p", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, loopback(7000));
    listen_err = errno_of([&] { sys.listen(fd, 1); });
    accept_err = errno_of([&] { sys.accept(fd); });
  });
  run_checked(sim);
  CHECK(listen_err == EOPNOTSUPP);
  CHECK(accept_err == EOPNOTSUPP);
}

// --- the listen backlog ---

TEST_CASE("stream: with backlog 1, two connects complete and a third waits for accept",
          "[stream]") {
  Simulation sim;
  std::vector<Nanos> connected_at;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000, 1);
    sys.sleep(kSecond);
    sys.print("accepting");
    sys.accept(listener);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    for (int i = 1; i <= 3; ++i) {
      connect_to(sys, 9000);
      connected_at.push_back(sys.monotonic());
      sys.print("connected " + std::to_string(i));
    }
  });
  run_checked(sim);
  const std::string transcript = sim.transcript();
  INFO(transcript);
  REQUIRE(connected_at.size() == 3);
  CHECK(connected_at[0] == 0);
  CHECK(connected_at[1] == 0);  // backlog + 1 connections are queued
  CHECK(connected_at[2] == kSecond);
  const std::size_t second = line_at(transcript, "client: connected 2");
  const std::size_t accepting = line_at(transcript, "server: accepting");
  const std::size_t third = line_at(transcript, "client: connected 3");
  REQUIRE(second != std::string::npos);
  REQUIRE(accepting != std::string::npos);
  REQUIRE(third != std::string::npos);
  CHECK(second < accepting);
  CHECK(accepting < third);
}

TEST_CASE("stream: a non-blocking connect to a full backlog is EINPROGRESS until accepted",
          "[stream]") {
  Simulation sim;
  int connect_err = 0, again_err = 0, so_error = -1;
  short before = -1, after = 0;
  Nanos writable_at = -1;
  std::string peer;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000, 1);
    sys.sleep(kSecond);
    sys.accept(listener);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    connect_to(sys, 9000);
    connect_to(sys, 9000);
    const int fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    connect_err = errno_of([&] { sys.connect(fd, loopback(9000)); });
    again_err = errno_of([&] { sys.connect(fd, loopback(9000)); });
    before = poll_one(sys, fd, POLLOUT, 0);
    after = poll_one(sys, fd, POLLOUT);
    writable_at = sys.monotonic();
    so_error = sys.getsockopt(fd, SOL_SOCKET, SO_ERROR);
    peer = sys.getpeername(fd).str();
  });
  run_checked(sim);
  CHECK(connect_err == EINPROGRESS);
  CHECK(again_err == EALREADY);
  CHECK(before == 0);
  CHECK(after == POLLOUT);
  CHECK(writable_at == kSecond);
  CHECK(so_error == 0);
  CHECK(peer == "127.0.0.1:9000");
}

TEST_CASE("stream: closing a listener refuses waiting connects and resets unaccepted ones",
          "[stream]") {
  Simulation sim;
  int waiting_err = 0, first_err = 0, second_err = 0, waiting_peer = 0;
  Nanos refused_at = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000, 1);
    sys.sleep(kSecond);
    sys.close(listener);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int a = connect_to(sys, 9000);
    const int b = connect_to(sys, 9000);
    const int c = sys.socket(AF_INET, SOCK_STREAM);
    waiting_err = errno_of([&] { sys.connect(c, loopback(9000)); });
    refused_at = sys.monotonic();
    waiting_peer = errno_of([&] { sys.getpeername(c); });
    first_err = errno_of([&] { sys.recv(a, 10); });
    second_err = errno_of([&] { sys.recv(b, 10); });
  });
  run_checked(sim);
  CHECK(waiting_err == ECONNREFUSED);
  CHECK(refused_at == kSecond);
  CHECK(waiting_peer == ENOTCONN);
  CHECK(first_err == ECONNRESET);
  CHECK(second_err == ECONNRESET);
}

// --- non-blocking mode ---

TEST_CASE("stream: non-blocking accept and recv fail with EAGAIN", "[stream]") {
  Simulation sim;
  int accept_err = 0, recv_err = 0, dontwait_err = 0;
  std::string data;
  bool flag_listener = false, flag_accepted_plain = true, flag_accepted_nb = false;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    sys.bind(listener, loopback(9000));
    sys.listen(listener, 4);
    accept_err = errno_of([&] { sys.accept(listener); });
    flag_listener = sys.kernel().get_nonblocking(sys.task(), listener) == 1;
    sys.set_nonblocking(listener, false);
    const int conn = sys.accept(listener);  // blocks until the client connects
    // accept() does not pass O_NONBLOCK on; SOCK_NONBLOCK in its flags does.
    flag_accepted_plain = sys.kernel().get_nonblocking(sys.task(), conn) == 1;
    dontwait_err = errno_of([&] { sys.recv(conn, 10, MSG_DONTWAIT); });
    sys.set_nonblocking(conn);
    recv_err = errno_of([&] { sys.recv(conn, 10); });
    poll_one(sys, conn, POLLIN);
    data = sys.recv(conn, 10);
    const int conn2 = sys.accept(listener, nullptr, SOCK_NONBLOCK);
    flag_accepted_nb = sys.kernel().get_nonblocking(sys.task(), conn2) == 1;
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    sys.send(fd, "late");
    connect_to(sys, 9000);
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(accept_err == EAGAIN);
  CHECK(flag_listener);
  CHECK_FALSE(flag_accepted_plain);
  CHECK(dontwait_err == EAGAIN);
  CHECK(recv_err == EAGAIN);
  CHECK(data == "late");
  CHECK(flag_accepted_nb);
}

TEST_CASE("stream: a non-blocking connect is EINPROGRESS, then writable with SO_ERROR 0",
          "[stream]") {
  Simulation sim;
  int connect_err = 0, so_error = -1, isconn = 0;
  short revents = 0;
  std::string peer, received;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    received = sys.recv(conn, 10);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.set_nonblocking(fd);
    connect_err = errno_of([&] { sys.connect(fd, loopback(9000)); });
    revents = poll_one(sys, fd, POLLOUT | POLLIN);
    so_error = sys.getsockopt(fd, SOL_SOCKET, SO_ERROR);
    isconn = errno_of([&] { sys.connect(fd, loopback(9000)); });
    peer = sys.getpeername(fd).str();
    sys.send(fd, "hi");
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(connect_err == EINPROGRESS);
  CHECK(revents == POLLOUT);
  CHECK(so_error == 0);
  CHECK(isconn == EISCONN);
  CHECK(peer == "127.0.0.1:9000");
  CHECK(received == "hi");
}

TEST_CASE("stream: a non-blocking connect to a closed port: EINPROGRESS, then POLLERR and "
          "SO_ERROR ECONNREFUSED",
          "[stream]") {
  Simulation sim;
  int connect_err = 0, so_error = 0, so_error_again = -1;
  short revents = 0;
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    connect_err = errno_of([&] { sys.connect(fd, loopback(9999)); });
    revents = poll_one(sys, fd, POLLOUT);
    so_error = sys.getsockopt(fd, SOL_SOCKET, SO_ERROR);
    so_error_again = sys.getsockopt(fd, SOL_SOCKET, SO_ERROR);  // read once, then cleared
  });
  run_checked(sim);
  CHECK(connect_err == EINPROGRESS);
  CHECK(revents == (POLLOUT | POLLERR | POLLHUP));  // what Linux reports
  CHECK(so_error == ECONNREFUSED);
  CHECK(so_error_again == 0);
}

// --- no TIME_WAIT ---

TEST_CASE("stream: a port is free at once after its process ends", "[stream]") {
  Simulation sim;
  bool first_done = false, first_done_seen = false;
  int rebind = -1;
  std::string echoed;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.send(conn, sys.recv(conn, 100));
    first_done = true;  // then the process ends, active side of the close
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "one");
    sys.recv(fd, 100);
    sys.sleep(10 * kSecond);
  });
  sim.spawn("server-again", [&](Sys& sys) {
    sys.sleep(kSecond);
    first_done_seen = first_done;
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    rebind = errno_of([&] { sys.bind(listener, loopback(9000)); });
    if (rebind != 0) return;
    sys.listen(listener, 4);
    const int client = connect_to(sys, 9000);
    const int conn = sys.accept(listener);
    sys.send(client, "two");
    echoed = sys.recv(conn, 100);
  });
  const RunResult result = run_checked(sim);
  CHECK(first_done_seen);
  REQUIRE(result.processes.size() == 3);
  CHECK(result.processes[0].status == 0);
  CHECK_FALSE(result.processes[0].killed);
  CHECK(rebind == 0);
  CHECK(echoed == "two");
}

// --- IPv6 ---

TEST_CASE("stream: IPv6 loopback ::1 carries a connection", "[stream]") {
  Simulation sim;
  std::string peer_ip, client_remote, data;
  int v4_to_v6_loopback = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET6, SOCK_STREAM);
    sys.bind(listener, {Ip::loopback(Family::inet6), 9000});
    sys.listen(listener, 4);
    Address peer;
    const int conn = sys.accept(listener, &peer);
    peer_ip = peer.ip.str();
    data = sys.recv(conn, 100);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int v4 = sys.socket(AF_INET, SOCK_STREAM);
    v4_to_v6_loopback = errno_of([&] { sys.connect(v4, loopback(9000)); });
    const int fd = sys.socket(AF_INET6, SOCK_STREAM);
    sys.connect(fd, {*Ip::parse("::1"), 9000});
    client_remote = sys.getpeername(fd).str();
    sys.send(fd, "v6");
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(v4_to_v6_loopback == ECONNREFUSED);  // ::1 is not 127.0.0.1
  CHECK(peer_ip == "::1");
  CHECK(client_remote == "[::1]:9000");
  CHECK(data == "v6");
}

TEST_CASE("stream: an IPv4 client of a dual-stack :: listener appears as ::ffff:127.0.0.1",
          "[stream]") {
  Simulation sim;
  Address peer, server_local;
  std::string client_remote;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET6, SOCK_STREAM);
    sys.bind(listener, {Ip::any(Family::inet6), 9000});
    sys.listen(listener, 4);
    const int conn = sys.accept(listener, &peer);
    server_local = sys.getsockname(conn);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    client_remote = sys.getpeername(fd).str();
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(peer.ip.family == Family::inet6);
  CHECK(peer.ip.str() == "::ffff:127.0.0.1");
  CHECK(server_local.str() == "[::ffff:127.0.0.1]:9000");
  CHECK(client_remote == "127.0.0.1:9000");
}

TEST_CASE("stream: localhost resolves to 127.0.0.1 and ::1", "[stream]") {
  Simulation sim;
  std::vector<std::string> names;
  std::size_t unknown = 99;
  sim.spawn("p", [&](Sys& sys) {
    for (const Ip& ip : sys.resolve("localhost")) names.push_back(ip.str());
    unknown = sys.resolve("no-such-host").size();
  });
  run_checked(sim);
  CHECK(names == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(unknown == 0);
}

// --- named hosts ---

TEST_CASE("stream: a process on the default host connects to a named host", "[stream]") {
  Simulation sim;
  Host& db = sim.add_host("db", {*Ip::parse("10.0.0.2")});
  std::string query, answer, resolved, client_remote;
  sim.spawn("db", [&](Sys& sys) {
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(listener, {*Ip::parse("10.0.0.2"), 5432});
    sys.listen(listener, 4);
    const int conn = sys.accept(listener);
    query = sys.recv(conn, 100);
    sys.send(conn, "1 row");
  }, &db);
  sim.spawn("app", [&](Sys& sys) {
    const std::vector<Ip> ips = sys.resolve("db");
    if (ips.size() != 1) return;
    resolved = ips[0].str();
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, {ips[0], 5432});
    client_remote = sys.getpeername(fd).str();
    sys.send(fd, "SELECT 1");
    answer = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(resolved == "10.0.0.2");
  CHECK(client_remote == "10.0.0.2:5432");
  CHECK(query == "SELECT 1");
  CHECK(answer == "1 row");
}

// The address a server sees must lead back to its client, as on a real network (a
// loopback address would lead the server to itself).
TEST_CASE("stream: a named host can connect back to the address its client came from",
          "[stream]") {
  Simulation sim;
  Host& db = sim.add_host("db", {*Ip::parse("10.0.0.2")});
  std::string peer_ip, callback;
  int back = -1;
  sim.spawn("db", [&](Sys& sys) {
    const int conn = sys.accept(listen_on_any(sys, 5432));
    Address peer;
    peer = sys.getpeername(conn);
    peer_ip = peer.ip.str();
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    back = errno_of([&] { sys.connect(fd, {peer.ip, 7000}); });
    if (back == 0) sys.send(fd, "callback");
  }, &db);
  sim.spawn("app", [&](Sys& sys) {
    const int listener = listen_on_any(sys, 7000);
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, {*Ip::parse("10.0.0.2"), 5432});
    const int conn = sys.accept(listener);
    callback = sys.recv(conn, 100);
  });
  run_checked(sim);
  INFO("the db server saw its client as " << peer_ip);
  CHECK_FALSE(Ip::parse(peer_ip).value_or(Ip::loopback(Family::inet)).is_loopback());
  CHECK(back == 0);
  CHECK(callback == "callback");
}

TEST_CASE("stream: connect to an address no host has fails with ENETUNREACH", "[stream]") {
  Simulation sim;
  sim.add_host("db", {*Ip::parse("10.0.0.2")});
  int err = 0, err6 = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    err = errno_of([&] { sys.connect(fd, {Ip::v4(10, 9, 9, 9), 80}); });
    const int fd6 = sys.socket(AF_INET6, SOCK_STREAM);
    err6 = errno_of([&] { sys.connect(fd6, {*Ip::parse("2001:db8::9"), 80}); });
  });
  run_checked(sim);
  CHECK(err == ENETUNREACH);
  CHECK(err6 == ENETUNREACH);
}

TEST_CASE("stream: every host has its own 127.0.0.1", "[stream]") {
  Simulation sim;
  Host& db = sim.add_host("db", {*Ip::parse("10.0.0.2")});
  int same_host = -1, other_host = 0;
  sim.spawn("db-server", [&](Sys& sys) {
    const int listener = listen_on(sys, 6000);
    sys.accept(listener);
    sys.sleep(10 * kSecond);
  }, &db);
  sim.spawn("db-client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    same_host = errno_of([&] { sys.connect(fd, loopback(6000)); });
    sys.sleep(10 * kSecond);
  }, &db);
  sim.spawn("app", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    other_host = errno_of([&] { sys.connect(fd, loopback(6000)); });
  });
  run_checked(sim);
  CHECK(same_host == 0);
  CHECK(other_host == ECONNREFUSED);
}

// --- the trace ---

TEST_CASE("stream: connect, accept, send and recv are traced with one connection id",
          "[stream]") {
  Simulation sim;
  int server_pid = 0, client_pid = 0;
  server_pid = sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_on(sys, 9000));
    sys.send(conn, sys.recv(conn, 100));
  });
  client_pid = sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "hello");
    sys.recv(fd, 100);
  });
  run_checked(sim);
  const Event *connect = nullptr, *accept = nullptr;
  std::vector<const Event*> sends, recvs;
  for (const Event& e : sim.trace().events()) {
    if (e.kind == EventKind::connect) connect = &e;
    if (e.kind == EventKind::accept) accept = &e;
    if (e.kind == EventKind::send) sends.push_back(&e);
    if (e.kind == EventKind::recv) recvs.push_back(&e);
  }
  REQUIRE(connect);
  REQUIRE(accept);
  REQUIRE(sends.size() == 2);
  REQUIRE(recvs.size() == 2);
  const std::uint64_t conn = connect->conn;
  CHECK(conn != 0);
  CHECK(connect->pid == client_pid);
  CHECK(accept->pid == server_pid);
  CHECK(accept->conn == conn);
  CHECK(connect->remote->str() == "127.0.0.1:9000");
  CHECK(accept->local->str() == "127.0.0.1:9000");
  CHECK(accept->remote == connect->local);
  // client -> server, then the echo back.
  CHECK(sends[0]->pid == client_pid);
  CHECK(recvs[0]->pid == server_pid);
  CHECK(sends[1]->pid == server_pid);
  CHECK(recvs[1]->pid == client_pid);
  for (const Event* e : {sends[0], recvs[0], sends[1], recvs[1]}) {
    CHECK(e->conn == conn);
    CHECK(e->value == 5);
    CHECK(e->data == "hello");
  }
  const auto& events = sim.trace().events();
  const auto position = [&](const Event* e) {
    return std::find_if(events.begin(), events.end(), [&](const Event& x) { return &x == e; }) -
           events.begin();
  };
  CHECK(position(connect) < position(accept));
  CHECK(position(sends[0]) < position(recvs[0]));
  CHECK(position(recvs[0]) < position(sends[1]));
}

// --- determinism ---

namespace {

std::pair<std::string, std::string> run_exchange(std::uint64_t seed) {
  Simulation sim(Config{.seed = seed});
  sim.spawn("server", [](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    for (;;) {
      Address peer;
      const int conn = sys.accept(listener, &peer);
      sys.print("connection from " + peer.str());
      for (std::string data = sys.recv(conn, 4); !data.empty(); data = sys.recv(conn, 4)) {
        sys.print("echo " + data);
        sys.send(conn, data);
      }
      sys.close(conn);
    }
  });
  for (const char* name : {"alice", "bob"}) {
    sim.spawn("client", [name](Sys& sys) {
      const int fd = connect_to(sys, 9000);
      sys.print("from " + sys.getsockname(fd).str());
      sys.send(fd, std::string(name) + " says hello");
      sys.sleep(10 * kMillisecond);
      sys.print("got " + sys.recv(fd, 100));
      sys.close(fd);
    });
  }
  run_checked(sim);
  return {sim.transcript(), sim.trace().to_jsonl()};
}

}  // namespace

TEST_CASE("stream: the same seed gives the same transcript and trace, 20 times", "[stream]") {
  const auto [transcript, jsonl] = run_exchange(7);
  REQUIRE(transcript.find("client: got alice says hello") != std::string::npos);
  REQUIRE(!jsonl.empty());
  for (int i = 0; i < 20; ++i) {
    const auto [t, j] = run_exchange(7);
    INFO("run " << i);
    CHECK(t == transcript);
    CHECK(j == jsonl);
  }
}

TEST_CASE("stream: recv_into fills the caller's buffer and returns 0 at end of stream",
          "[stream]") {
  Simulation sim;
  std::vector<std::string> pieces;
  std::size_t at_eof = 99;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9100);
    const int conn = sys.accept(listener);
    char buffer[4];
    for (std::size_t n; (n = sys.recv_into(conn, buffer)) > 0;) pieces.emplace_back(buffer, n);
    at_eof = sys.recv_into(conn, buffer);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9100);
    sys.send(fd, "abcdefghij");
    sys.close(fd);
  });
  run_checked(sim);
  CHECK(pieces == std::vector<std::string>{"abcd", "efgh", "ij"});
  CHECK(at_eof == 0);
}
