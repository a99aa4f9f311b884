// Faults (scenario.hpp FaultKind): each checked for what a program sees, with the
// errno Linux gives for the same event on a real network.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "scenario_harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

Scenario with(Fault fault) {
  Scenario scenario = two_hosts();
  scenario.faults = {std::move(fault)};
  return scenario;
}

// A server that echoes every connection's bytes until EOF, for `connections` connections.
TaskFn echo_server(int connections) {
  return [connections](Sys& sys) {
    const int listener = listen_any(sys, 80);
    for (int i = 0; i < connections; ++i) {
      const int conn = sys.accept(listener);
      errno_of([&] {
        for (std::string part; !(part = sys.recv(conn, 100)).empty();) sys.send(conn, part);
      });
      sys.close(conn);
    }
  };
}

int connect_server(Sys& sys) {
  const int fd = sys.socket(AF_INET, SOCK_STREAM);
  sys.connect(fd, server_at(sys, 80));
  return fd;
}

}  // namespace

TEST_CASE("faults: refuse the Nth connect with ECONNREFUSED") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::refuse, .when = {.nth = 2}, .match = {.port = 80}}));
  std::vector<int> errs;
  sim.spawn("server", echo_server(2));
  sim.spawn("client", [&](Sys& sys) {
    for (int i = 0; i < 3; ++i) {
      const int fd = sys.socket(AF_INET, SOCK_STREAM);
      errs.push_back(errno_of([&] { sys.connect(fd, server_at(sys, 80)); }));
      sys.close(fd);
    }
  });
  run_checked(sim);
  CHECK(errs == std::vector<int>{0, ECONNREFUSED, 0});
  CHECK(sim.transcript().find("netsim: refuse connect to server port 80 at 0.000s") != std::string::npos);
}

TEST_CASE("faults: reset after N bytes: both ends see ECONNRESET") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::reset, .when = {.after_bytes = 5},
                       .match = {.direction = FaultMatch::Direction::outbound}}));
  std::string server_got;
  int server_err = 0, client_err = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    server_got = sys.recv(conn, 100);
    server_err = errno_of([&] { sys.recv(conn, 100); });
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    CHECK(sys.send(fd, "helloworld") == 5);
    client_err = errno_of([&] { sys.recv(fd, 100); });
  });
  run_checked(sim);
  CHECK(server_got == "hello");
  CHECK(server_err == ECONNRESET);
  CHECK(client_err == ECONNRESET);
}

TEST_CASE("faults: close at a time: both ends read end of file") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::close, .when = {.at = kSecond}}));
  std::string server_read = "?", client_read = "?";
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    server_read = sys.recv(conn, 100);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    client_read = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(server_read.empty());
  CHECK(client_read.empty());
}

TEST_CASE("faults: blackhole: nothing arrives, the sender's buffer fills, then ETIMEDOUT") {
  Simulation sim({.seed = 1, .socket_buffer = 4096});
  sim.apply(with(Fault{.kind = FaultKind::blackhole}));
  int polled = -1, err = 0;
  std::size_t accepted = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    pollfd entry{conn, POLLIN, 0};
    polled = sys.poll(std::span<pollfd>(&entry, 1), 10 * kSecond);
    sys.sleep(kSecond * 2000);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    sys.set_nonblocking(fd);
    accepted = sys.send(fd, std::string(10000, 'x'));
    sys.set_nonblocking(fd, false);
    err = errno_of([&] { sys.recv(fd, 100); });
  });
  run_checked(sim);
  CHECK(polled == 0);
  CHECK(accepted == 4096);
  CHECK(err == ETIMEDOUT);
}

TEST_CASE("faults: slice and partial_write cut recv and send short") {
  Simulation sim({.seed = 1});
  Scenario scenario = two_hosts();
  scenario.faults = {Fault{.kind = FaultKind::slice, .match = {.direction = FaultMatch::Direction::outbound}, .size = 3},
                     Fault{.kind = FaultKind::partial_write, .match = {.direction = FaultMatch::Direction::inbound}, .size = 4}};
  sim.apply(scenario);
  std::vector<std::size_t> reads;
  std::size_t written = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    std::size_t got = 0;
    while (got < 12) {
      reads.push_back(sys.recv(conn, 100).size());
      got += reads.back();
    }
    written = sys.send(conn, "0123456789");
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    sys.send(fd, "abcdefghijkl");
    sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(reads.size() >= 4);
  for (const std::size_t n : reads) CHECK((n >= 1 && n <= 3));
  CHECK(written == 4);
}

TEST_CASE("faults: eintr fails the matched blocking call once") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::eintr, .when = {.nth = 1}, .match = {.process = "client", .call = "recv"}}));
  int first = 0;
  std::string second;
  sim.spawn("server", echo_server(1));
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    first = errno_of([&] { sys.recv(fd, 100); });
    sys.send(fd, "again");
    second = sys.recv(fd, 100);
  });
  run_checked(sim);
  CHECK(first == EINTR);
  CHECK(second == "again");
}

TEST_CASE("faults: resolve_fail makes lookups of a name fail with its EAI error") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::resolve_fail, .when = {.nth = 1}, .match = {.name = "server"}, .error = EAI_AGAIN}));
  std::vector<int> errors;
  sim.spawn("client", [&](Sys& sys) {
    for (const char* name : {"SERVER", "server", "nowhere"}) errors.push_back(sys.kernel().resolve(sys.task(), name).error);
  });
  run_checked(sim);
  CHECK(errors == std::vector<int>{EAI_AGAIN, 0, EAI_NONAME});
}

TEST_CASE("faults: kill frees the ports at once; restart runs the program again") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::kill, .when = {.at = kSecond}, .process = "server",
                       .restart_after = kSecond}));
  std::vector<int> errs;
  std::string read_at_kill = "?";
  sim.spawn("server", echo_server(1));
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_server(sys);
    read_at_kill = sys.recv(fd, 100);
    for (int i = 0; i < 3; ++i) {
      sys.sleep(400 * kMillisecond);
      const int again = sys.socket(AF_INET, SOCK_STREAM);
      errs.push_back(errno_of([&] { sys.connect(again, server_at(sys, 80)); }));
      sys.close(again);
    }
  });
  run_checked(sim);
  CHECK(read_at_kill.empty());
  // At 1.4 s and 1.8 s nobody listens; at 2.2 s the restarted server does.
  CHECK(errs == std::vector<int>{ECONNREFUSED, ECONNREFUSED, 0});
  const std::string transcript = sim.transcript();
  CHECK(transcript.find("netsim: kill server at 1.000s\nnetsim: restart server at 2.000s\n") != std::string::npos);
}

TEST_CASE("faults: a paused process runs nothing until resumed; its sockets still receive") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::pause, .when = {.at = kMillisecond}, .process = "server", .duration = 3 * kSecond}));
  Nanos answered = 0;
  sim.spawn("server", echo_server(1));
  sim.spawn("client", [&](Sys& sys) {
    sys.sleep(10 * kMillisecond);
    const int fd = connect_server(sys);
    sys.send(fd, "hi");
    sys.recv(fd, 100);
    answered = sys.monotonic();
  });
  run_checked(sim);
  CHECK(answered == 3 * kSecond + kMillisecond);
}

TEST_CASE("faults: hold keeps datagrams, release delivers them in order") {
  Simulation sim({.seed = 1});
  sim.apply(with(Fault{.kind = FaultKind::hold, .when = {.at = 0}, .hosts = {"client"}, .duration = kSecond}));
  std::vector<std::string> got;
  Nanos first = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, {Ip::any(Family::inet), 53});
    for (int i = 0; i < 3; ++i) {
      got.push_back(sys.recv(fd, 100));
      if (i == 0) first = sys.monotonic();
    }
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    for (const char* m : {"a", "b", "c"}) sys.sendto(fd, m, server_at(sys, 53));
    sys.sleep(2 * kSecond);
  });
  run_checked(sim);
  CHECK(got == std::vector<std::string>{"a", "b", "c"});
  CHECK(first == kSecond);
}
