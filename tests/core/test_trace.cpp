// The event trace (and its JSON lines) and the transcript derived from it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "netsim/transcript.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));  // unterminated last line
  return lines;
}

// The number after `"key":` in a JSON line, or -1.
long long number_after(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const std::size_t at = line.find(needle);
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + needle.size()));
}

struct Command {
  int status = -1;
  std::string out;
};

// Runs a shell command on `input` (through a temporary file), capturing stdout.
Command run_with_input(const std::string& command, const std::string& input) {
  char path[] = "/tmp/netsim-trace-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(fd);
  Command result;
  FILE* pipe = popen((command + " < " + path).c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) result.out.append(buf, n);
  result.status = pclose(pipe);
  std::remove(path);
  return result;
}

// A short run with TCP and UDP traffic, timers, output and an error.
void busy_run(Simulation& sim, const std::string& payload) {
  sim.spawn("server", [payload](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    const std::string got = sys.recv(conn, 1024);
    sys.send(conn, got);
    const int udp = sys.socket(AF_INET, SOCK_DGRAM);
    sys.sendto(udp, payload, loopback(7000));
    sys.print("served");
  });
  sim.spawn("client", [payload](Sys& sys) {
    const int udp = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(udp, loopback(7000));
    const int fd = connect_to(sys, 9000);
    sys.sleep(250 * kMillisecond);
    sys.send(fd, payload);
    sys.recv(fd, 1024);
    sys.recv(udp, 1024);
    errno_of([&] { sys.recv(99, 1); });  // an error event
    sys.sleep(kSecond);
    sys.print("bye");
  });
  run_checked(sim);
}

std::string hex(std::string_view bytes) {
  std::string out;
  for (const unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string all_bytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

}  // namespace

TEST_CASE("trace: to_jsonl has one object per event, seq from 1, t non-decreasing", "[trace]") {
  Simulation sim;
  busy_run(sim, "hello");
  const auto& events = sim.trace().events();
  const std::string jsonl = sim.trace().to_jsonl();
  REQUIRE_FALSE(jsonl.empty());
  CHECK(jsonl.back() == '\n');
  const auto lines = split_lines(jsonl);
  REQUIRE(lines.size() == events.size());
  long long previous_t = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(lines[i].front() == '{');
    CHECK(lines[i].back() == '}');
    CHECK(lines[i].rfind("{\"seq\":" + std::to_string(i + 1) + ",\"t\":", 0) == 0);
    const long long t = number_after(lines[i], "t");
    CHECK(t >= previous_t);
    CHECK(t == events[i].time);
    previous_t = t;
  }
  CHECK(previous_t == 1250 * kMillisecond);  // time did move during the run
}

TEST_CASE("trace: an event's JSON names its fields", "[trace]") {
  Simulation sim;
  sim.spawn("app", [](Sys& sys) {
    const int rx = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(rx, loopback(7000));
    const int tx = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(tx, loopback(7001));
    sys.sendto(tx, "hello", loopback(7000));
    errno_of([&] { sys.send(tx, "x"); });
  });
  run_checked(sim);
  const Event* send = nullptr;
  const Event* error = nullptr;
  std::uint64_t send_seq = 0;
  std::uint64_t error_seq = 0;
  std::uint64_t seq = 0;
  for (const Event& e : sim.trace().events()) {
    ++seq;
    if (e.kind == EventKind::send) std::tie(send, send_seq) = std::pair(&e, seq);
    if (e.kind == EventKind::error) std::tie(error, error_seq) = std::pair(&e, seq);
  }
  REQUIRE(send != nullptr);
  REQUIRE(error != nullptr);
  CHECK(Trace::to_json(*send, send_seq) ==
        fmt::format(R"({{"seq":{},"t":0,"event":"send","pid":1000,"task":1,"fd":4,"proto":"udp",)"
                    R"("local":"127.0.0.1:7001","remote":"127.0.0.1:7000",)"
                    R"("value":5,"data":"hello"}})",
                    send_seq));
  CHECK(Trace::to_json(*error, error_seq) ==
        fmt::format(R"({{"seq":{},"t":0,"event":"error","pid":1000,"task":1,"fd":4,"proto":"udp",)"
                    R"("local":"127.0.0.1:7001","errno":"EDESTADDRREQ","text":"send"}})",
                    error_seq));
}

TEST_CASE("trace: control and non-UTF-8 bytes are escaped so the JSON stays valid",
          "[trace]") {
  Simulation sim;
  busy_run(sim, all_bytes());
  const std::string jsonl = sim.trace().to_jsonl();
  // Plain printable ASCII on every line: nothing raw that a JSON parser could reject.
  for (const unsigned char c : jsonl) {
    INFO("byte " << static_cast<int>(c));
    REQUIRE(((c >= 0x20 && c < 0x7f) || c == '\n'));
  }
  for (const char* escape : {"\\u0000", "\\u0001", "\\u001f", "\\u007f", "\\u0080", "\\u00ff",
                             "\\n", "\\t", "\\r", "\\\"", "\\\\"})
    CHECK(jsonl.find(escape) != std::string::npos);

  // A real JSON parser reads every line, and each data string maps back (as Latin-1)
  // to exactly the bytes of the event.
  const Command parsed = run_with_input(
      "python3 -c 'import json, sys\n"
      "for line in sys.stdin.buffer.read().split(b\"\\n\")[:-1]:\n"
      "    e = json.loads(line)\n"
      "    print(e[\"seq\"], e.get(\"data\", e.get(\"text\", \"\")).encode(\"latin-1\").hex())'",
      jsonl);
  INFO("python3 (on PATH) checks the JSON; its output:\n" << parsed.out);
  REQUIRE(parsed.status == 0);
  std::string expected;
  std::uint64_t seq = 0;
  for (const Event& e : sim.trace().events())
    expected += fmt::format("{} {}\n", ++seq, hex(e.data));
  CHECK(parsed.out == expected);
  int with_all_bytes = 0;
  for (const Event& e : sim.trace().events()) with_all_bytes += e.data == all_bytes();
  CHECK(with_all_bytes >= 4);  // TCP send and recv, UDP send and recv
}

TEST_CASE("trace: text fields are escaped like data", "[trace]") {
  Simulation sim;
  sim.spawn("we\"ird\\name\x01", [](Sys& sys) { sys.print("x"); });
  run_checked(sim);
  const std::string first = split_lines(sim.trace().to_jsonl()).front();
  CHECK(first == R"({"seq":1,"t":0,"event":"spawn","pid":1000,"text":"we\"ird\\name\u0001"})");
}

TEST_CASE("transcript: each line is prefixed with its process's name", "[trace]") {
  Simulation sim;
  sim.spawn("server", [](Sys& sys) {
    sys.print("one");
    sys.sleep(kSecond);
    sys.print("three");
  });
  sim.spawn("client", [](Sys& sys) {
    sys.print("two");
    sys.sleep(2 * kSecond);
  });
  run_checked(sim);
  CHECK(sim.transcript() == "server: one\nclient: two\nserver: three\n");
  CHECK(make_transcript(sim.trace()) == sim.transcript());
}

TEST_CASE("transcript: one write may hold several lines, a line several writes", "[trace]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    sys.write(1, "x\ny\n");
    sys.write(1, "\nz");
    sys.write(1, "z");
    sys.write(1, "z\n");
  });
  run_checked(sim);
  CHECK(sim.transcript() == "p: x\np: y\np: \np: zzz\n");
}

TEST_CASE("transcript: stdout and stderr lines of one process are kept apart", "[trace]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    sys.write(1, "out-a");
    sys.write(2, "err line\n");
    sys.write(1, "-b\n");
  });
  run_checked(sim);
  CHECK(sim.transcript() == "p: err line\np: out-a-b\n");
}

TEST_CASE("transcript: a partial line is emitted when its process exits", "[trace]") {
  Simulation sim;
  sim.spawn("a", [](Sys& sys) { sys.write(1, "partial"); });
  sim.spawn("c", [](Sys& sys) {
    sys.write(2, "unfinished");
    sys.sleep(100 * kSecond);  // still running at the end: killed
  });
  sim.spawn("b", [](Sys& sys) {
    sys.sleep(kSecond);
    sys.print("later");
  });
  run_checked(sim);
  // a's line comes out at a's exit, before b's later line, not at the end; c's
  // stop line starts a line of its own after its unfinished one, in both front-ends.
  CHECK(sim.transcript() == "a: partial\nb: later\nc: unfinished\nc: netsim: stopped by SIGTERM at the end of the run\n");
}

TEST_CASE("transcript: lines are ordered by when they were completed", "[trace]") {
  Simulation sim;
  sim.spawn("a", [](Sys& sys) {
    sys.write(1, "a-start ");
    sys.sleep(kSecond);
    sys.write(1, "done\n");
    sys.sleep(kSecond);
  });
  sim.spawn("b", [](Sys& sys) {
    sys.print("b-line");
    sys.sleep(3 * kSecond);
  });
  run_checked(sim);
  CHECK(sim.transcript() == "b: b-line\na: a-start done\n");
}

TEST_CASE("trace: without payloads send/recv keep sizes but not bytes, output is kept",
          "[trace]") {
  for (const bool keep : {true, false}) {
    INFO("trace_payload " << keep);
    Simulation sim(Config{.trace_payload = keep});
    CHECK(sim.trace().keep_payload() == keep);
    busy_run(sim, "secret");
    int sends = 0, recvs = 0, outputs = 0;
    for (const Event& e : sim.trace().events()) {
      if (e.kind == EventKind::send || e.kind == EventKind::recv) {
        (e.kind == EventKind::send ? sends : recvs) += 1;
        CHECK(e.value == 6);
        CHECK(e.data == (keep ? "secret" : ""));
      }
      if (e.kind == EventKind::output) {
        ++outputs;
        CHECK((e.data == "served\n" || e.data == "bye\n"));
      }
    }
    CHECK(sends == 3);  // client -> server, the echo, the datagram
    CHECK(recvs == 3);
    CHECK(outputs == 2);
    CHECK((sim.trace().to_jsonl().find("secret") != std::string::npos) == keep);
    CHECK(sim.transcript() == "server: served\nclient: bye\n");
  }
}
