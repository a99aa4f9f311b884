// Cassettes (cassette.hpp): a recorded conversation played to a program in recorded
// order, the first difference reported, HTTP/1.x requests matched one by one.
#include <sys/socket.h>

#include <string>

#include "harness.hpp"
#include "netsim/cassette.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

using cassette::Chunk;

cassette::Options played(std::vector<Chunk> chunks, cassette::Match match = cassette::Match::bytes) {
  cassette::Options options;
  options.services = {{.name = "127.0.0.1:7", .host = "", .port = 7, .real = std::nullopt}};
  options.recorded = {{"127.0.0.1:7", std::move(chunks)}};
  options.match = match;
  options.ignored_headers = {"User-Agent", "date"};
  return options;
}

Chunk client(std::string bytes) { return {true, std::move(bytes), false, 0}; }
Chunk server(std::string bytes) { return {false, std::move(bytes), false, 0}; }
Chunk server_close() { return {false, "", true, 0}; }

// Runs `body` as the only program against the service; returns the transcript and
// the cassette's problem.
std::pair<std::string, std::string> run_against(const cassette::Options& options, const TaskFn& body) {
  Simulation sim({.seed = 3});
  cassette::Deck deck(sim, options);
  sim.spawn("client", body);
  run_checked(sim);
  return {sim.transcript(), deck.outcome().problem};
}

void ping(Sys& sys, const std::string& message) {
  const int fd = connect_to(sys, 7);
  sys.send(fd, message);
  try {
    const std::string reply = sys.recv(fd, 100);
    const std::string after = sys.recv(fd, 100);
    sys.print("got " + reply + " then [" + after + "]");
  } catch (const Error& e) {
    sys.print("failed: " + std::string(errno_name(e.code())));
  }
  sys.close(fd);
}

}  // namespace

TEST_CASE("cassette: a reply is played once the program sent what came before it") {
  const auto options = played({client("pi"), client("ng"), server("pong"), server_close()});
  const auto [transcript, problem] = run_against(options, [](Sys& sys) { ping(sys, "ping"); });
  CHECK(problem.empty());
  CHECK(transcript == "client: got pong then []\n");
  for (int i = 0; i < 5; ++i)
    CHECK(run_against(options, [](Sys& sys) { ping(sys, "ping"); }).first == transcript);
}

TEST_CASE("cassette: the first difference ends the conversation and is reported") {
  const auto options = played({client("ping\n"), server("pong"), server_close()});
  const auto [transcript, problem] = run_against(options, [](Sys& sys) { ping(sys, "pang\n"); });
  CHECK(transcript == "client: got  then []\n");
  CHECK(problem ==
        "cassette: connection 1 (the 1st to 127.0.0.1:7) differs from the recording at byte 1 of what "
        "the program sent: expected \"ing\\n\", got \"ang\\n\"");
}

TEST_CASE("cassette: a second connection finds no recording left") {
  const auto options = played({client("ping"), server("pong"), server_close()});
  const auto [transcript, problem] = run_against(options, [](Sys& sys) {
    ping(sys, "ping");
    ping(sys, "ping");
  });
  // Closed with the program's bytes unread: a reset, as Linux sends.
  CHECK(transcript == "client: got pong then []\nclient: failed: ECONNRESET\n");
  CHECK(problem.starts_with("cassette: connection 2 (the 2nd to 127.0.0.1:7): the cassette has 1 "
                            "connection(s) to 127.0.0.1:7 and no more"));
}

TEST_CASE("cassette: HTTP requests match one by one without the ignored headers") {
  const std::string first = "POST /a HTTP/1.1\r\nUser-Agent: one\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "GET /b HTTP/1.1\r\nDate: then\r\n\r\n";
  const auto options = played({client(first.substr(0, 20)), client(first.substr(20)), server("A"),
                               client(second), server("B"), server_close()},
                              cassette::Match::http);
  auto ask = [](const std::string& a, const std::string& b) {
    return [a, b](Sys& sys) {
      const int fd = connect_to(sys, 7);
      sys.send(fd, a);
      std::string got = sys.recv(fd, 100);
      sys.send(fd, b);
      got += sys.recv(fd, 100);
      sys.print("got " + got);
    };
  };
  const auto same = run_against(
      options, ask("POST /a HTTP/1.1\r\nUser-Agent: two, longer\r\nContent-Length: 3\r\n\r\nabc",
                   "GET /b HTTP/1.1\r\nDate: now\r\n\r\n"));
  CHECK(same.second.empty());
  CHECK(same.first == "client: got AB\n");
  const auto other_body =
      run_against(options, ask("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabd", second));
  CHECK(other_body.second ==
        "cassette: connection 1 (the 1st to 127.0.0.1:7) differs from the recording in request 1, line "
        "3: expected \"abc\", got \"abd\"");
}

namespace {

// Answers each message of each connection with its length, a second later, until
// the client closes.
void count_server(Sys& sys) {
  const int listener = listen_on(sys, 7);
  for (;;) {
    const int conn = sys.accept(listener);
    for (std::string got = sys.recv(conn, 100); !got.empty(); got = sys.recv(conn, 100)) {
      sys.sleep(kSecond);
      sys.send(conn, std::to_string(got.size()));
    }
    sys.close(conn);
  }
}

void count_client(Sys& sys, const std::vector<std::string>& lines) {
  for (int round = 0; round < 2; ++round) {
    const int fd = connect_to(sys, 7);
    for (const std::string& line : lines) {
      sys.send(fd, line);
      sys.print(line + " has " + sys.recv(fd, 100));
    }
    sys.close(fd);
  }
}

}  // namespace

TEST_CASE("cassette: a simulated server recorded, then its client played against the recording alone") {
  cassette::Options recording;
  recording.services = {{.name = "localhost:7", .host = "", .port = 7, .real = std::nullopt, .simulated = true}};
  Simulation sim({.seed = 3});
  sim.spawn("server", count_server);
  sim.spawn("client", [](Sys& sys) { count_client(sys, {"one", "three"}); });
  cassette::Deck deck(sim, recording);
  run_checked(sim);
  deck.stop();
  const cassette::Outcome& outcome = deck.outcome();
  CHECK(outcome.problem.empty());
  REQUIRE(outcome.conversations.size() == 2);
  // In the order each end sent, with the virtual time it sent at.
  const auto& chunks = outcome.conversations[0].chunks;
  REQUIRE(chunks.size() == 5);
  CHECK((chunks[0].from_client && chunks[0].bytes == "one" && chunks[0].time == 0));
  CHECK((!chunks[1].from_client && chunks[1].bytes == "3" && chunks[1].time == kSecond));
  CHECK((chunks[2].from_client && chunks[2].bytes == "three"));
  CHECK((!chunks[3].from_client && chunks[3].bytes == "5" && chunks[3].time == 2 * kSecond));
  CHECK((chunks[4].from_client && chunks[4].closed));

  cassette::Options replay;
  replay.services = {{.name = "localhost:7", .host = "", .port = 7, .real = std::nullopt}};
  replay.recorded.assign(outcome.conversations.begin(), outcome.conversations.end());
  const std::string expected = "client: one has 3\nclient: three has 5\n";
  for (int i = 0; i < 3; ++i) {
    const auto [transcript, problem] =
        run_against(replay, [](Sys& sys) { count_client(sys, {"one", "three"}); });
    CHECK(problem.empty());
    CHECK(transcript == expected + expected);
  }
  CHECK(run_against(replay, [](Sys& sys) { count_client(sys, {"one", "four"}); }).second ==
        "cassette: connection 1 (the 1st to localhost:7) differs from the recording at byte 3 of what the "
        "program sent: expected \"three\", got \"four\"");
}
