// Datagram (UDP-like) sockets: each test runs C++ tasks on the virtual network, records
// what the calls returned, and checks it against what Linux does once the run is over
// (assertions inside a task would throw across the fiber boundary).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// A UDP socket, bound to 127.0.0.1:port unless port is 0.
int udp(Sys& sys, std::uint16_t port = 0) {
  const int fd = sys.socket(AF_INET, SOCK_DGRAM);
  if (port) sys.bind(fd, loopback(port));
  return fd;
}

std::vector<Event> events_of(const Simulation& sim, EventKind kind) {
  std::vector<Event> out;
  for (const Event& event : sim.trace().events())
    if (event.kind == kind) out.push_back(event);
  return out;
}

bool in_ephemeral_range(std::uint16_t port) { return port >= 32768 && port <= 60999; }

}  // namespace

TEST_CASE("udp: two sends arrive as two datagrams (message boundaries kept)", "[udp]") {
  Simulation sim;
  std::vector<std::string> got;
  int third = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "hello", loopback(7000));
    sys.sendto(tx, "world!", loopback(7000));
    got.push_back(sys.recv(rx, 100));
    got.push_back(sys.recv(rx, 100));
    third = errno_of([&] { sys.recv(rx, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(got == std::vector<std::string>{"hello", "world!"});
  CHECK(third == EAGAIN);
}

TEST_CASE("udp: an empty datagram is a datagram of its own", "[udp]") {
  Simulation sim;
  std::vector<std::string> got;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "", loopback(7000));
    sys.sendto(tx, "x", loopback(7000));
    got.push_back(sys.recv(rx, 100, MSG_DONTWAIT));
    got.push_back(sys.recv(rx, 100, MSG_DONTWAIT));
  });
  run_checked(sim);
  CHECK(got == std::vector<std::string>{"", "x"});
}

TEST_CASE("udp: recvfrom blocks until a datagram arrives and reports its source", "[udp]") {
  Simulation sim;
  std::string data;
  Address from;
  Nanos received_at = -1;
  sim.spawn("receiver", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    data = sys.recvfrom(fd, 100, &from);
    received_at = sys.monotonic();
  });
  sim.spawn("sender", [&](Sys& sys) {
    const int fd = udp(sys, 7001);
    sys.sleep(kSecond);
    sys.sendto(fd, "ping", loopback(7000));
    sys.sleep(kSecond);  // lets the receiver run before the run ends
  });
  run_checked(sim);
  CHECK(data == "ping");
  CHECK(from == loopback(7001));
  CHECK(received_at == kSecond);
}

TEST_CASE("udp: a short buffer truncates the datagram and the rest is lost", "[udp]") {
  Simulation sim;
  std::string first, second;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "abcdefghij", loopback(7000));
    sys.sendto(tx, "next", loopback(7000));
    first = sys.recv(rx, 4);
    second = sys.recv(rx, 100);
  });
  run_checked(sim);
  CHECK(first == "abcd");
  CHECK(second == "next");  // not "efghij": the tail of the first went with it
}

TEST_CASE("udp: MSG_TRUNC returns the datagram's full length", "[udp]") {
  Simulation sim;
  long plain = 0, with_trunc = 0;
  std::string copied;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "0123456789", loopback(7000));
    sys.sendto(tx, "abcdefghij", loopback(7000));
    char buf[4];
    plain = sys.kernel().recvfrom(sys.task(), rx, buf, sizeof buf, 0, nullptr);
    char buf2[4];
    with_trunc = sys.kernel().recvfrom(sys.task(), rx, buf2, sizeof buf2, MSG_TRUNC, nullptr);
    copied.assign(buf2, sizeof buf2);
  });
  run_checked(sim);
  CHECK(plain == 4);
  CHECK(with_trunc == 10);
  CHECK(copied == "abcd");
}

TEST_CASE("udp: MSG_PEEK leaves the datagram queued", "[udp]") {
  Simulation sim;
  std::string peeked, read;
  int after = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "once", loopback(7000));
    peeked = sys.recv(rx, 100, MSG_PEEK);
    read = sys.recv(rx, 100);
    after = errno_of([&] { sys.recv(rx, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(peeked == "once");
  CHECK(read == "once");
  CHECK(after == EAGAIN);
}

TEST_CASE("udp: a full receive buffer drops datagrams (trace drop event)", "[udp]") {
  Simulation sim(Config{.socket_buffer = 1000});
  std::vector<long> sent;
  std::vector<std::string> got;
  int then = 0;
  std::string after_drain;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys, 7001);
    for (const char c : std::string("abcd"))
      sent.push_back(static_cast<long>(sys.sendto(tx, std::string(300, c), loopback(7000))));
    for (int i = 0; i < 4; ++i) {
      try {
        got.push_back(sys.recv(rx, 1000, MSG_DONTWAIT));
      } catch (const Error& e) {
        then = e.code();
        break;
      }
    }
    // Room again: the next datagram is queued.
    sys.sendto(tx, "again", loopback(7000));
    after_drain = sys.recv(rx, 1000, MSG_DONTWAIT);
  });
  run_checked(sim);
  // The sender is never told: every send reports its full size.
  CHECK(sent == std::vector<long>{300, 300, 300, 300});
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::string(300, 'a'));
  CHECK(got[1] == std::string(300, 'b'));
  CHECK(got[2] == std::string(300, 'c'));
  CHECK(then == EAGAIN);
  CHECK(after_drain == "again");
  const auto drops = events_of(sim, EventKind::drop);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0].datagram);
  CHECK(drops[0].remote == loopback(7000));
  CHECK(drops[0].local == loopback(7001));
}

TEST_CASE("udp: sending to a port nobody listens on is silently dropped (unconnected)", "[udp]") {
  Simulation sim;
  std::size_t first = 0, second = 0;
  int recv_err = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7001);
    first = sys.sendto(fd, "lost", loopback(7999));
    second = sys.sendto(fd, "lost too", loopback(7999));
    recv_err = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(first == 4);
  CHECK(second == 8);
  CHECK(recv_err == EAGAIN);  // no ECONNREFUSED for an unconnected socket
  CHECK(events_of(sim, EventKind::drop).size() == 2);
  CHECK(events_of(sim, EventKind::error).empty());
}

TEST_CASE("udp: a connected socket gets ECONNREFUSED on its next send after a refusal", "[udp]") {
  Simulation sim;
  std::size_t first = 0, third = 0;
  int second = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys);
    sys.connect(fd, loopback(7999));
    first = sys.send(fd, "x");  // goes out; the ICMP error comes back
    second = errno_of([&] { sys.send(fd, "y"); });
    third = sys.send(fd, "zz");  // the error was reported once
  });
  run_checked(sim);
  CHECK(first == 1);
  CHECK(second == ECONNREFUSED);
  CHECK(third == 2);
  const auto errors = events_of(sim, EventKind::error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].err == ECONNREFUSED);
}

TEST_CASE("udp: a connected socket gets ECONNREFUSED on its next recv after a refusal", "[udp]") {
  Simulation sim;
  int err = 0, later = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys);
    sys.connect(fd, loopback(7999));
    sys.send(fd, "x");
    err = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
    later = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(err == ECONNREFUSED);
  CHECK(later == EAGAIN);
}

TEST_CASE("udp: a pending ECONNREFUSED is reported before queued datagrams", "[udp]") {
  // Linux's __skb_recv_udp() checks sk_err before it looks at the queue.
  Simulation sim;
  int first = 0;
  std::string second;
  sim.spawn("app", [&](Sys& sys) {
    const int server = udp(sys, 7000);
    const int client = udp(sys, 7001);
    sys.connect(client, loopback(7000));
    sys.sendto(server, "reply", loopback(7001));  // queued at the client
    sys.close(server);
    sys.send(client, "x");  // refused: nobody is on 7000 any more
    first = errno_of([&] { sys.recv(client, 100, MSG_DONTWAIT); });
    second = sys.recv(client, 100, MSG_DONTWAIT);
  });
  run_checked(sim);
  CHECK(first == ECONNREFUSED);
  CHECK(second == "reply");
}

TEST_CASE("udp: a blocked recv on a connected socket wakes with ECONNREFUSED", "[udp]") {
  // The refusal is reported to a reader that is already waiting (Linux wakes it
  // with the socket error), not only to the next call.
  Simulation sim;
  int err = 0;
  sim.spawn("reader", [&](Sys& sys) {
    const int fd = udp(sys, 7001);
    sys.connect(fd, loopback(7999));
    sys.spawn_thread("writer", [fd](Sys& s) { s.send(fd, "x"); });
    err = errno_of([&] { sys.recv(fd, 100); });
  });
  run_checked(sim);
  CHECK(err == ECONNREFUSED);
}

TEST_CASE("udp: connected send()/recv() talk to the peer, getpeername reports it", "[udp]") {
  Simulation sim;
  std::string at_server, at_client;
  Address server_saw, peer;
  sim.spawn("server", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    at_server = sys.recvfrom(fd, 100, &server_saw);
    sys.sendto(fd, "pong", server_saw);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = udp(sys, 7001);
    sys.connect(fd, loopback(7000));
    peer = sys.getpeername(fd);
    sys.send(fd, "ping");
    at_client = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(at_server == "ping");
  CHECK(server_saw == loopback(7001));
  CHECK(at_client == "pong");
  CHECK(peer == loopback(7000));
}

TEST_CASE("udp: a connected socket only receives datagrams from its peer", "[udp]") {
  Simulation sim;
  std::string got;
  int stranger_err = -1;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int peer = udp(sys, 7001);
    const int stranger = udp(sys, 7002);
    sys.connect(rx, loopback(7001));
    sys.sendto(stranger, "from a stranger", loopback(7000));
    sys.sendto(peer, "from the peer", loopback(7000));
    got = sys.recv(rx, 100, MSG_DONTWAIT);
    stranger_err = errno_of([&] { sys.recv(rx, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(got == "from the peer");
  CHECK(stranger_err == EAGAIN);
  CHECK(events_of(sim, EventKind::drop).size() == 1);
}

TEST_CASE("udp: send() without a destination fails with EDESTADDRREQ", "[udp]") {
  Simulation sim;
  int err = 0;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    err = errno_of([&] { sys.send(fd, "where to?"); });
  });
  run_checked(sim);
  CHECK(err == EDESTADDRREQ);
  const auto errors = events_of(sim, EventKind::error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].err == EDESTADDRREQ);
}

TEST_CASE("udp: a datagram above 65507 bytes fails with EMSGSIZE, 65507 bytes fit", "[udp]") {
  Simulation sim(Config{.socket_buffer = 128 * 1024});
  int too_big = 0;
  std::size_t largest_sent = 0;
  std::string largest_got;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    too_big = errno_of([&] { sys.sendto(tx, std::string(65508, 'x'), loopback(7000)); });
    largest_sent = sys.sendto(tx, std::string(65507, 'y'), loopback(7000));
    largest_got = sys.recv(rx, 70000, MSG_DONTWAIT);
  });
  run_checked(sim);
  CHECK(too_big == EMSGSIZE);
  CHECK(largest_sent == 65507);
  CHECK(largest_got == std::string(65507, 'y'));
}

TEST_CASE("udp: over IPv6 the limit is 65527 bytes, to a v4-mapped address 65507", "[udp]") {
  Simulation sim(Config{.socket_buffer = 128 * 1024});
  int v6_too_big = 0, mapped_too_big = 0;
  std::size_t v6_got = 0, mapped_got = 0;
  sim.spawn("app", [&](Sys& sys) {
    const Ip v6_loopback = Ip::loopback(Family::inet6);
    const Ip mapped = *Ip::parse("::ffff:127.0.0.1");
    const int rx6 = sys.socket(AF_INET6, SOCK_DGRAM);
    sys.bind(rx6, {v6_loopback, 7000});
    const int rx4 = udp(sys, 7001);
    const int tx = sys.socket(AF_INET6, SOCK_DGRAM);
    v6_too_big = errno_of([&] { sys.sendto(tx, std::string(65528, 'x'), {v6_loopback, 7000}); });
    sys.sendto(tx, std::string(65527, 'x'), {v6_loopback, 7000});
    v6_got = sys.recv(rx6, 70000, MSG_DONTWAIT).size();
    mapped_too_big = errno_of([&] { sys.sendto(tx, std::string(65508, 'x'), {mapped, 7001}); });
    sys.sendto(tx, std::string(65507, 'x'), {mapped, 7001});
    mapped_got = sys.recv(rx4, 70000, MSG_DONTWAIT).size();
  });
  run_checked(sim);
  CHECK(v6_too_big == EMSGSIZE);
  CHECK(v6_got == 65527);
  CHECK(mapped_too_big == EMSGSIZE);
  CHECK(mapped_got == 65507);
}

TEST_CASE("udp: an IPv6 wildcard socket receives IPv4 datagrams from a v4-mapped source",
          "[udp]") {
  Simulation sim;
  std::string got;
  Address from;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = sys.socket(AF_INET6, SOCK_DGRAM);
    sys.bind(rx, {Ip::any(Family::inet6), 7000});
    const int tx = udp(sys, 7001);
    sys.sendto(tx, "hi", loopback(7000));
    got = sys.recvfrom(rx, 100, &from, MSG_DONTWAIT);
  });
  run_checked(sim);
  CHECK(got == "hi");
  CHECK(from == Address{*Ip::parse("::ffff:127.0.0.1"), 7001});
}

TEST_CASE("udp: the first sendto of an unbound socket binds an ephemeral port", "[udp]") {
  Simulation sim(Config{.seed = 5});
  Address before, after, from;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    before = sys.getsockname(tx);
    sys.sendto(tx, "hi", loopback(7000));
    after = sys.getsockname(tx);
    sys.recvfrom(rx, 100, &from);
  });
  run_checked(sim);
  CHECK(before == Address{Ip::any(Family::inet), 0});
  CHECK(after.ip == Ip::any(Family::inet));  // Linux autobinds to the wildcard
  CHECK(in_ephemeral_range(after.port));
  CHECK(from == loopback(after.port));  // the receiver sees the routed source
  std::size_t binds = 0;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::bind && e.local && e.local->port == after.port) ++binds;
  CHECK(binds == 1);
}
