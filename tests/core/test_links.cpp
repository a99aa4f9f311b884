// Links between hosts (scenario.hpp LinkConditions): delay, jitter, rate, loss,
// duplication and reordering, partitions, and TCP's retransmission timeouts as
// Linux's defaults give them.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "scenario_harness.hpp"

using namespace netsim;
using namespace netsim::test;

TEST_CASE("links: hosts get the next free 10.0.0.N address and programs run on their host") {
  Simulation sim({.seed = 1});
  sim.apply(two_hosts());
  std::string server_ip;
  std::string client_host;
  sim.spawn("server", [&](Sys& sys) { server_ip = sys.resolve("server").front().str(); });
  sim.spawn("client", [&](Sys& sys) { client_host = sys.task().process().host().name; });
  run_checked(sim);
  CHECK(server_ip == "10.0.0.2");
  CHECK(client_host == "client");
}

TEST_CASE("links: a connect takes a round trip and each message the one-way delay") {
  Simulation sim({.seed = 1});
  sim.apply(two_hosts({.delay = 50 * kMillisecond}));
  Nanos connected = -1, received = -1, answered = -1;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    const std::string got = sys.recv(conn, 100);
    received = sys.monotonic();
    sys.send(conn, got);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, server_at(sys, 80));
    connected = sys.monotonic();
    sys.send(fd, "ping");
    CHECK(sys.recv(fd, 100) == "ping");
    answered = sys.monotonic();
  });
  run_checked(sim);
  CHECK(connected == 100 * kMillisecond);
  CHECK(received == 150 * kMillisecond);
  CHECK(answered == 200 * kMillisecond);
}

TEST_CASE("links: the rate makes a large transfer take virtual time, and the sender blocks") {
  Simulation sim({.seed = 1});
  // 1 Mbit/s: 125000 bytes a second.
  sim.apply(two_hosts({.rate = 1'000'000}));
  Nanos all_read = -1, send_returned = -1;
  const std::size_t total = 250'000;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    std::size_t got = 0;
    while (got < total) got += sys.recv(conn, 65536).size();
    all_read = sys.monotonic();
    sys.close(conn);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, server_at(sys, 80));
    sys.send(fd, std::string(total, 'x'));
    send_returned = sys.monotonic();
    sys.recv(fd, 1);  // the server's close: the run ends with the last process
  });
  run_checked(sim);
  CHECK(all_read == 2 * kSecond);
  // The send returns once the last bytes fit in the link and the 64 KiB buffer,
  // well before they have all crossed.
  CHECK(send_returned > kSecond);
  CHECK(send_returned < all_read);
}

TEST_CASE("links: jitter never reorders a stream, and the seed decides the timing") {
  auto run = [](std::uint64_t seed) {
    Simulation sim({.seed = seed});
    sim.apply(two_hosts({.delay = 10 * kMillisecond, .jitter = 9 * kMillisecond}));
    std::string got;
    Nanos done = 0;
    sim.spawn("server", [&](Sys& sys) {
      const int conn = sys.accept(listen_any(sys, 80));
      for (std::string part; !(part = sys.recv(conn, 100)).empty();) got += part;
      done = sys.monotonic();
      sys.close(conn);
    });
    sim.spawn("client", [&](Sys& sys) {
      const int fd = sys.socket(AF_INET, SOCK_STREAM);
      sys.connect(fd, server_at(sys, 80));
      for (char c = 'a'; c <= 'z'; ++c) {
        sys.send(fd, std::string(1, c));
        sys.sleep(kMillisecond);
      }
      sys.shutdown(fd, SHUT_WR);
      sys.recv(fd, 1);
    });
    run_checked(sim);
    CHECK(got == "abcdefghijklmnopqrstuvwxyz");
    return done;
  };
  CHECK(run(1) == run(1));
  std::vector<Nanos> times;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) times.push_back(run(seed));
  std::sort(times.begin(), times.end());
  CHECK(std::unique(times.begin(), times.end()) - times.begin() > 1);
}

namespace {

// How many of `n` datagrams sent from client to server arrive, in what order.
std::vector<int> datagrams_through(LinkConditions conditions, std::uint64_t seed, int n = 100) {
  Simulation sim({.seed = seed});
  sim.apply(two_hosts(conditions));
  std::vector<int> got;
  sim.spawn("server", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, {Ip::any(Family::inet), 53});
    pollfd entry{fd, POLLIN, 0};
    while (sys.poll(std::span<pollfd>(&entry, 1), 5 * kSecond) > 0) got.push_back(std::stoi(sys.recv(fd, 100)));
  });
  sim.spawn("client", [&, n](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    for (int i = 0; i < n; ++i) {
      sys.sendto(fd, std::to_string(i), server_at(sys, 53));
      sys.sleep(kMillisecond);
    }
    sys.sleep(10 * kSecond);
  });
  run_checked(sim);
  return got;
}

}  // namespace

TEST_CASE("links: datagrams are lost, duplicated and reordered as the seed draws") {
  const std::vector<int> lossy = datagrams_through({.loss = 0.3}, 7);
  CHECK(lossy.size() > 50);
  CHECK(lossy.size() < 90);
  CHECK(std::is_sorted(lossy.begin(), lossy.end()));
  CHECK(datagrams_through({.loss = 0.3}, 7) == lossy);
  CHECK(datagrams_through({.loss = 0.3}, 8) != lossy);

  CHECK(datagrams_through({.duplicate = 1}, 7, 10) == std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9});

  const std::vector<int> reordered = datagrams_through({.delay = 5 * kMillisecond, .reorder = 0.5}, 7, 20);
  CHECK(reordered.size() == 20);
  CHECK(!std::is_sorted(reordered.begin(), reordered.end()));
}

TEST_CASE("links: TCP stays reliable over a lossy link; loss shows as retransmission delay") {
  Simulation sim({.seed = 3});
  sim.apply(two_hosts({.delay = kMillisecond, .loss = 0.2}));
  std::string got;
  Nanos done = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    for (std::string part; !(part = sys.recv(conn, 1000)).empty();) got += part;
    done = sys.monotonic();
    sys.close(conn);
  });
  std::string sent;
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, server_at(sys, 80));
    for (int i = 0; i < 50; ++i) {
      const std::string line = "line " + std::to_string(i) + "\n";
      sent += line;
      sys.send(fd, line);
    }
    sys.shutdown(fd, SHUT_WR);
    sys.recv(fd, 1);
  });
  run_checked(sim);
  CHECK(got == sent);
  // Without loss: the connect's round trip and one delay, 3 ms. Each loss costs an RTO
  // of at least TCP_RTO_MIN.
  CHECK(done > 200 * kMillisecond);
  bool retransmitted = false;
  for (const Event& event : sim.trace().events()) retransmitted = retransmitted || event.kind == EventKind::retransmit;
  CHECK(retransmitted);
}

TEST_CASE("links: a connect across a partition times out after 127 s, as tcp_syn_retries=6 does") {
  Simulation sim({.seed = 1});
  Scenario scenario = two_hosts();
  scenario.faults = {Fault{.kind = FaultKind::partition, .hosts = {"client"}, .peers = {"server"}}};
  sim.apply(scenario);
  int err = 0;
  Nanos when = 0;
  sim.spawn("server", [&](Sys& sys) { sys.accept(listen_any(sys, 80)); });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    err = errno_of([&] { sys.connect(fd, server_at(sys, 80)); });
    when = sys.monotonic();
  });
  run_checked(sim);
  CHECK(err == ETIMEDOUT);
  CHECK(when == 127 * kSecond);
  CHECK(sim.transcript().find("netsim: partition client | server at 0.000s\n") != std::string::npos);
}

TEST_CASE("links: a reachable host with no listener refuses after a round trip") {
  Simulation sim({.seed = 1});
  sim.apply(two_hosts({.delay = 20 * kMillisecond}));
  int err = 0;
  Nanos when = 0;
  sim.spawn("server", [&](Sys& sys) { sys.sleep(kSecond); });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    err = errno_of([&] { sys.connect(fd, server_at(sys, 81)); });
    when = sys.monotonic();
  });
  run_checked(sim);
  CHECK(err == ECONNREFUSED);
  CHECK(when == 40 * kMillisecond);
}

TEST_CASE("links: unacknowledged data across a partition ends in ETIMEDOUT after 924.6 s (tcp_retries2=15)") {
  Simulation sim({.seed = 1});
  Scenario scenario = two_hosts();
  scenario.faults = {Fault{.kind = FaultKind::partition, .when = {.at = kSecond}, .hosts = {"client"}}};
  sim.apply(scenario);
  int err = 0;
  Nanos when = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    sys.recv(conn, 100);
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, server_at(sys, 80));
    sys.sleep(2 * kSecond);
    sys.send(fd, "lost");
    err = errno_of([&] { sys.recv(fd, 100); });
    when = sys.monotonic();
  });
  run_checked(sim);
  CHECK(err == ETIMEDOUT);
  CHECK(when == 2 * kSecond + 924'600 * kMillisecond);
}

TEST_CASE("links: the same seed gives the same trace, byte for byte; another seed another") {
  auto trace_of = [](std::uint64_t seed) {
    Simulation sim({.seed = seed});
    sim.apply(two_hosts({.delay = 5 * kMillisecond, .jitter = 4 * kMillisecond, .rate = 10'000'000, .loss = 0.1}));
    sim.spawn("server", [](Sys& sys) {
      const int conn = sys.accept(listen_any(sys, 80));
      for (std::string part; !(part = sys.recv(conn, 4096)).empty();) sys.send(conn, part);
    });
    sim.spawn("client", [](Sys& sys) {
      const int fd = sys.socket(AF_INET, SOCK_STREAM);
      sys.connect(fd, server_at(sys, 80));
      for (int i = 0; i < 20; ++i) {
        sys.send(fd, std::string(3000, static_cast<char>('a' + i)));
        sys.recv(fd, 4096);
      }
    });
    run_checked(sim);
    return sim.trace().to_jsonl();
  };
  const std::string first = trace_of(11);
  for (int run = 0; run < 5; ++run) CHECK(trace_of(11) == first);
  CHECK(trace_of(12) != first);
}

TEST_CASE("links: a scenario without conditions leaves the trace exactly as without one") {
  auto trace_of = [](bool with_scenario) {
    Simulation sim({.seed = 5});
    if (with_scenario) sim.apply(Scenario{});
    sim.spawn("server", [](Sys& sys) {
      const int conn = sys.accept(listen_on(sys, 80));
      sys.send(conn, sys.recv(conn, 100));
    });
    sim.spawn("client", [](Sys& sys) {
      const int fd = connect_to(sys, 80);
      sys.send(fd, "hello");
      sys.recv(fd, 100);
    });
    run_checked(sim);
    return sim.trace().to_jsonl();
  };
  CHECK(trace_of(true) == trace_of(false));
}

TEST_CASE("links: a host's clock offset, drift and jumps move its wall clock, not the trace") {
  Simulation sim({.seed = 1});
  Scenario scenario = two_hosts();
  scenario.hosts[0].clock_offset = 5 * kSecond;
  scenario.hosts[1].clock_drift = 0.01;
  scenario.faults = {Fault{.kind = FaultKind::clock_jump, .when = {.at = 10 * kSecond}, .hosts = {"server"}, .amount = -3 * kSecond}};
  sim.apply(scenario);
  Nanos server_before = 0, server_after = 0, client_after = 0;
  sim.spawn("server", [&](Sys& sys) {
    server_before = sys.now();
    sys.sleep(20 * kSecond);
    server_after = sys.now();
  });
  sim.spawn("client", [&](Sys& sys) {
    sys.sleep(20 * kSecond);
    client_after = sys.now();
  });
  run_checked(sim);
  CHECK(server_before == kDefaultEpoch + 5 * kSecond);
  CHECK(server_after == kDefaultEpoch + 5 * kSecond + 20 * kSecond - 3 * kSecond);
  CHECK(client_after == kDefaultEpoch + 20 * kSecond + 200 * kMillisecond);
}

TEST_CASE("links: a connected UDP socket hears of a closed port a round trip later") {
  // Linux: the ICMP port unreachable comes back across the network and sets the
  // connected socket's error, reported once by its next call (ECONNREFUSED); an
  // unconnected socket hears nothing (no IP_RECVERR).
  Simulation sim({.seed = 1});
  sim.apply(two_hosts({.delay = 10 * kMillisecond}));
  int before = 0, after = 0, again = 0, unconnected = 0;
  sim.spawn("server", [](Sys&) {});
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.connect(fd, server_at(sys, 53));
    sys.send(fd, "query");
    sys.sleep(19 * kMillisecond);  // the ICMP is back at 20 ms
    before = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
    sys.sleep(kMillisecond);
    after = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
    again = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
    const int other = sys.socket(AF_INET, SOCK_DGRAM);
    sys.sendto(other, "query", server_at(sys, 53));
    sys.sleep(30 * kMillisecond);
    unconnected = errno_of([&] { sys.recv(other, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(before == EAGAIN);
  CHECK(after == ECONNREFUSED);
  CHECK(again == EAGAIN);
  CHECK(unconnected == EAGAIN);
}

TEST_CASE("links: the ICMP error does not cross a one-way partition back") {
  Simulation sim({.seed = 1});
  Scenario scenario = two_hosts({.delay = 10 * kMillisecond});
  scenario.faults = {Fault{.kind = FaultKind::partition, .hosts = {"server"}, .peers = {"client"}, .one_way = true}};
  sim.apply(scenario);
  int err = 0;
  sim.spawn("server", [](Sys&) {});
  sim.spawn("client", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.connect(fd, server_at(sys, 53));
    sys.send(fd, "query");
    sys.sleep(50 * kMillisecond);
    err = errno_of([&] { sys.recv(fd, 100, MSG_DONTWAIT); });
  });
  run_checked(sim);
  CHECK(err == EAGAIN);  // the datagram crossed; its answer did not
}
