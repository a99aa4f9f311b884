// The end of a run with data still on a link: on Linux the network keeps delivering
// after the sender exits, and a peer that is still running reads it (the last
// request, then EOF) before anyone stops it. The run goes on until what was in flight
// when the last program exited has arrived, and no further.
#include <netinet/in.h>
#include <sys/socket.h>

#include <set>
#include <string>

#include "scenario_harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// A server that prints each read until EOF; a client that sends its last words and
// exits at once, with 50 ms of one-way delay between them; and a bystander asleep
// for a second.
std::string stream_run(RunResult& result) {
  Simulation sim({.seed = 1});
  sim.apply(two_hosts({.delay = 50 * kMillisecond}));
  sim.spawn("bystander", [](Sys& sys) {
    sys.sleep(kSecond);
    sys.print("woke");
  });
  sim.spawn("server", [](Sys& sys) {
    const int conn = sys.accept(listen_any(sys, 80));
    for (;;) {
      const std::string got = sys.recv(conn, 100);
      sys.print(got.empty() ? "EOF" : "got " + got);
      if (got.empty()) break;
    }
  });
  sim.spawn("client", [](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, server_at(sys, 80));
    sys.send(fd, "goodbye");
  });
  result = run_checked(sim);
  return sim.transcript();
}

}  // namespace

TEST_CASE("end of run: a peer reads what its exited client sent, then EOF") {
  RunResult result;
  std::set<std::string> transcripts;
  for (int i = 0; i < 3; ++i) transcripts.insert(stream_run(result));
  REQUIRE(transcripts.size() == 1);
  // The bystander, still asleep, is stopped as every front-end stops it.
  CHECK(*transcripts.begin() ==
        "server: got goodbye\nserver: EOF\nbystander: netsim: stopped by SIGTERM at the end of the run\n");
  // Connected at 100 ms (a round trip), the last segment and FIN arrive 50 ms later;
  // the bystander's second is not waited for.
  CHECK(result.elapsed == 150 * kMillisecond);
  CHECK(result.processes[1].status == 0);
  CHECK_FALSE(result.processes[1].killed);
  CHECK(result.processes[0].killed);
}

TEST_CASE("end of run: datagrams in flight reach a server that is still running") {
  Simulation sim({.seed = 1});
  sim.apply(two_hosts({.delay = 10 * kMillisecond}));
  int received = 0;
  sim.spawn("server", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, {Ip::any(Family::inet), 53});
    for (;;) {
      sys.recv(fd, 100);
      ++received;
    }
  });
  sim.spawn("client", [](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    for (int i = 0; i < 3; ++i) sys.sendto(fd, "query", server_at(sys, 53));
  });
  const RunResult result = run_checked(sim);
  CHECK(received == 3);
  CHECK(result.elapsed == 10 * kMillisecond);
  CHECK(result.processes[0].killed);
}

TEST_CASE("end of run: a perfect network has nothing in flight and ends at once") {
  Simulation sim({.seed = 1});
  sim.spawn("sleeper", [](Sys& sys) { sys.sleep(kSecond); });
  sim.spawn("client", [](Sys&) {});
  const RunResult result = run_checked(sim);
  CHECK(result.elapsed == 0);
  CHECK(result.processes[0].killed);
}
