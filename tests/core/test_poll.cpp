// poll(): the one readiness primitive of the simulated kernel. Each test records the
// revents a task saw and checks them against Linux's poll(2) after the run.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

struct PollResult {
  int ready = -1;
  short revents = 0;
};

PollResult poll_one(Sys& sys, int fd, short events, std::optional<Nanos> timeout) {
  pollfd entry{fd, events, 0};
  PollResult result;
  result.ready = sys.poll(std::span<pollfd>(&entry, 1), timeout);
  result.revents = entry.revents;
  return result;
}

int udp(Sys& sys, std::uint16_t port = 0) {
  const int fd = sys.socket(AF_INET, SOCK_DGRAM);
  if (port) sys.bind(fd, loopback(port));
  return fd;
}

}  // namespace

TEST_CASE("poll: POLLIN on a listening socket once a connection is pending", "[poll]") {
  Simulation sim;
  PollResult before, after;
  Nanos woke_at = -1;
  bool accepted = false;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    before = poll_one(sys, listener, POLLIN, 0);
    after = poll_one(sys, listener, POLLIN, std::nullopt);  // blocks until the connect
    woke_at = sys.monotonic();
    accepted = sys.accept(listener) >= 0;
  });
  sim.spawn("client", [&](Sys& sys) {
    sys.sleep(kSecond);
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    sys.close(fd);
  });
  run_checked(sim);
  CHECK(before.ready == 0);
  CHECK(before.revents == 0);
  CHECK(after.ready == 1);
  CHECK(after.revents == POLLIN);
  CHECK(woke_at == kSecond);
  CHECK(accepted);
}

TEST_CASE("poll: POLLIN on a connected socket once data is there", "[poll]") {
  Simulation sim;
  PollResult empty, with_data;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    empty = poll_one(sys, conn, POLLIN, 0);
    with_data = poll_one(sys, conn, POLLIN, std::nullopt);
    sys.recv(conn, 100);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.sleep(kSecond);
    sys.send(fd, "data");
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(empty.ready == 0);
  CHECK(with_data.ready == 1);
  CHECK(with_data.revents == POLLIN);
}

TEST_CASE("poll: POLLOUT while the peer has room, not when its buffer is full", "[poll]") {
  Simulation sim(Config{.socket_buffer = 1024});
  PollResult room, full, room_again;
  std::size_t queued = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    sys.sleep(kSecond);
    sys.recv(conn, 4096);  // drains the buffer: the writer may go on
    sys.sleep(kSecond);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    room = poll_one(sys, fd, POLLOUT, 0);
    sys.set_nonblocking(fd);
    queued = sys.send(fd, std::string(4096, 'x'));  // fills the peer's 1024 bytes
    full = poll_one(sys, fd, POLLOUT, 0);
    room_again = poll_one(sys, fd, POLLOUT, std::nullopt);  // wakes when the peer reads
  });
  run_checked(sim);
  CHECK(room.revents == POLLOUT);
  CHECK(queued == 1024);
  CHECK(full.ready == 0);
  CHECK(full.revents == 0);
  CHECK(room_again.ready == 1);
  CHECK(room_again.revents == POLLOUT);
}

TEST_CASE("poll: POLLIN and POLLRDHUP at end of stream", "[poll]") {
  Simulation sim;
  PollResult at_eof, without_rdhup;
  std::string read;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    sys.close(conn);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    at_eof = poll_one(sys, fd, POLLIN | POLLRDHUP, std::nullopt);
    without_rdhup = poll_one(sys, fd, POLLIN, 0);
    read = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(at_eof.ready == 1);
  CHECK(at_eof.revents == (POLLIN | POLLRDHUP));
  CHECK(without_rdhup.revents == POLLIN);  // POLLRDHUP only when asked for
  CHECK(read.empty());
}

TEST_CASE("poll: POLLHUP and POLLERR after a reset", "[poll]") {
  Simulation sim;
  PollResult after_reset;
  int recv_err = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    sys.sleep(kSecond);
    sys.close(conn);  // with the client's bytes unread: RST instead of FIN
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "never read");
    // Asked for nothing: errors and hang-ups are reported anyway.
    after_reset = poll_one(sys, fd, 0, std::nullopt);
    recv_err = errno_of([&] { sys.recv(fd, 100); });
  });
  run_checked(sim);
  CHECK(after_reset.ready == 1);
  CHECK(after_reset.revents == (POLLERR | POLLHUP));
  CHECK(recv_err == ECONNRESET);
}

TEST_CASE("poll: POLLRDHUP is reported after a reset too", "[poll]") {
  // Linux's tcp_reset() ends with tcp_done(), which sets sk_shutdown to SHUTDOWN_MASK,
  // and tcp_poll() then reports POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLOUT.
  Simulation sim;
  PollResult after_reset;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    sys.sleep(kSecond);
    sys.close(conn);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    sys.send(fd, "never read");
    sys.sleep(2 * kSecond);  // the reset arrives meanwhile
    after_reset = poll_one(sys, fd, POLLIN | POLLOUT | POLLRDHUP, 0);
  });
  run_checked(sim);
  CHECK(after_reset.revents == (POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP));
}

TEST_CASE("poll: POLLNVAL for a descriptor that is not open", "[poll]") {
  Simulation sim;
  PollResult closed, never;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys);
    sys.close(fd);
    closed = poll_one(sys, fd, POLLIN, std::nullopt);  // ready at once: no wait
    never = poll_one(sys, 42, POLLIN | POLLOUT, 0);
  });
  run_checked(sim);
  CHECK(closed.ready == 1);
  CHECK(closed.revents == POLLNVAL);
  CHECK(never.ready == 1);
  CHECK(never.revents == POLLNVAL);
}

TEST_CASE("poll: a negative descriptor is ignored", "[poll]") {
  Simulation sim;
  int ready = -1;
  std::vector<pollfd> fds;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "x", loopback(7000));
    fds = {{-1, POLLIN | POLLOUT, 0}, {rx, POLLIN, 0}, {-rx, POLLIN, 0}};
    fds[0].revents = fds[2].revents = 0x7fff;  // poll must clear them
    ready = sys.poll(fds, 0);
  });
  run_checked(sim);
  CHECK(ready == 1);
  REQUIRE(fds.size() == 3);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == POLLIN);
  CHECK(fds[2].revents == 0);
}

TEST_CASE("poll: a timeout with nothing ready returns 0 after exactly that time", "[poll]") {
  Simulation sim;
  int ready = -1;
  short revents = -1;
  Nanos before = -1, after = -1;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    before = sys.monotonic();
    const PollResult r = poll_one(sys, fd, POLLIN, 250 * kMillisecond);
    after = sys.monotonic();
    ready = r.ready;
    revents = r.revents;
  });
  run_checked(sim);
  CHECK(ready == 0);
  CHECK(revents == 0);
  CHECK(before == 0);
  CHECK(after - before == 250 * kMillisecond);
}

TEST_CASE("poll: a timeout is kept across wake-ups that leave nothing ready", "[poll]") {
  // Traffic on a polled socket that does not match the events asked for wakes the
  // poller, which must then wait only for the rest of its timeout, not a fresh one.
  Simulation sim;
  int ready = -1;
  Nanos after = -1;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    sys.spawn_thread("noise", [](Sys& s) {
      const int tx = s.socket(AF_INET, SOCK_DGRAM);
      s.sleep(100 * kMillisecond);
      s.sendto(tx, "wake", loopback(7000));
    });
    ready = poll_one(sys, fd, POLLPRI, 250 * kMillisecond).ready;  // data is POLLIN only
    after = sys.monotonic();
  });
  run_checked(sim);
  CHECK(ready == 0);
  CHECK(after == 250 * kMillisecond);
}

TEST_CASE("poll: timeout 0 returns at once", "[poll]") {
  Simulation sim;
  int ready = -1;
  Nanos elapsed = -1;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7000);
    const Nanos before = sys.monotonic();
    ready = poll_one(sys, fd, POLLIN, 0).ready;
    elapsed = sys.monotonic() - before;
  });
  run_checked(sim);
  CHECK(ready == 0);
  // A poll that finds nothing may let time move by one spin quantum, no more.
  CHECK(elapsed >= 0);
  CHECK(elapsed <= kSpinQuantum);
}

TEST_CASE("poll: of several sockets only the ready one is reported", "[poll]") {
  Simulation sim;
  int ready = -1;
  std::vector<pollfd> fds;
  sim.spawn("app", [&](Sys& sys) {
    const int a = udp(sys, 7000);
    const int b = udp(sys, 7001);
    const int c = udp(sys, 7002);
    const int tx = udp(sys);
    sys.sendto(tx, "for b", loopback(7001));
    fds = {{a, POLLIN, 0}, {b, POLLIN, 0}, {c, POLLIN, 0}};
    ready = sys.poll(fds, std::nullopt);
  });
  run_checked(sim);
  CHECK(ready == 1);
  REQUIRE(fds.size() == 3);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == POLLIN);
  CHECK(fds[2].revents == 0);
}

TEST_CASE("poll: the count is of descriptors, not of events", "[poll]") {
  Simulation sim;
  int ready = -1;
  std::vector<pollfd> fds;
  sim.spawn("app", [&](Sys& sys) {
    const int a = udp(sys, 7000);
    const int b = udp(sys, 7001);
    const int tx = udp(sys);
    sys.sendto(tx, "x", loopback(7000));
    sys.sendto(tx, "y", loopback(7001));
    fds = {{a, POLLIN | POLLOUT, 0}, {b, POLLIN | POLLOUT, 0}, {tx, POLLIN, 0}};
    ready = sys.poll(fds, 0);
  });
  run_checked(sim);
  CHECK(ready == 2);
  REQUIRE(fds.size() == 3);
  CHECK(fds[0].revents == (POLLIN | POLLOUT));
  CHECK(fds[1].revents == (POLLIN | POLLOUT));
  CHECK(fds[2].revents == 0);
}

TEST_CASE("poll: the same descriptor listed twice counts twice", "[poll]") {
  Simulation sim;
  int ready = -1;
  std::vector<pollfd> fds;
  sim.spawn("app", [&](Sys& sys) {
    const int rx = udp(sys, 7000);
    const int tx = udp(sys);
    sys.sendto(tx, "x", loopback(7000));
    fds = {{rx, POLLIN, 0}, {rx, POLLIN, 0}};
    ready = sys.poll(fds, 0);
  });
  run_checked(sim);
  CHECK(ready == 2);
  REQUIRE(fds.size() == 2);
  CHECK(fds[0].revents == POLLIN);
  CHECK(fds[1].revents == POLLIN);
}

TEST_CASE("poll: a blocked poll wakes when another task makes a socket ready", "[poll]") {
  Simulation sim;
  int ready = -1;
  std::vector<pollfd> fds;
  Nanos woke_at = -1;
  sim.spawn("poller", [&](Sys& sys) {
    const int a = udp(sys, 7000);
    const int b = udp(sys, 7001);
    fds = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    ready = sys.poll(fds, std::nullopt);
    woke_at = sys.monotonic();
  });
  sim.spawn("sender", [&](Sys& sys) {
    const int fd = udp(sys);
    sys.sleep(2 * kSecond);
    sys.sendto(fd, "now", loopback(7001));
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(ready == 1);
  REQUIRE(fds.size() == 2);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == POLLIN);
  CHECK(woke_at == 2 * kSecond);
}

TEST_CASE("poll: POLLERR on a connected UDP socket after a refusal wakes a poller", "[poll]") {
  Simulation sim;
  PollResult result;
  sim.spawn("app", [&](Sys& sys) {
    const int fd = udp(sys, 7001);
    sys.connect(fd, loopback(7999));
    sys.spawn_thread("writer", [fd](Sys& s) { s.send(fd, "x"); });
    result = poll_one(sys, fd, POLLIN, std::nullopt);
  });
  run_checked(sim);
  CHECK(result.ready == 1);
  CHECK(result.revents == POLLERR);
}
