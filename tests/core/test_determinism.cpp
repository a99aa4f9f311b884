// Determinism end to end: the echo demo (examples/echo) run as a separate program
// must print the same bytes on every run with the same seed and options.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace {

struct Output {
  int status = -1;  // exit status, or -1 when the program did not exit normally
  std::string out;
};

#ifdef NETSIM_ECHO_DEMO

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Output run_demo(const std::string& args) {
  const std::string command = quoted(NETSIM_ECHO_DEMO) + " " + args;
  Output result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) result.out.append(buf, n);
  const int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.status = WEXITSTATUS(status);
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The transcript with the clients' ephemeral ports (which the seed picks) blanked out,
// so that what remains differs only where the interleaving does.
std::string without_ports(const std::string& text) {
  std::string out;
  const std::string prefix = "127.0.0.1:";
  std::size_t at = 0;
  for (std::size_t found; (found = text.find(prefix, at)) != std::string::npos;) {
    std::size_t end = found + prefix.size();
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    const std::string port = text.substr(found + prefix.size(), end - found - prefix.size());
    out += text.substr(at, found - at) + prefix + (port == "10000" ? port : "PORT");
    at = end;
  }
  return out + text.substr(at);
}

std::string temp_path(const std::string& tag) {
  return "/tmp/netsim-determinism-" + std::to_string(getpid()) + "-" + tag + ".jsonl";
}

#endif

}  // namespace

#ifdef NETSIM_ECHO_DEMO

TEST_CASE("determinism: 50 runs of the echo demo per seed print the same bytes",
          "[determinism]") {
  std::set<std::string> per_seed, normalized;
  for (const int seed : {1, 42, 1234}) {
    INFO("seed " << seed);
    const Output first = run_demo("--seed " + std::to_string(seed));
    REQUIRE(first.status == 0);
    REQUIRE_FALSE(first.out.empty());
    INFO(first.out);
    CHECK(first.out.find("server: listening on 127.0.0.1:10000\n") != std::string::npos);
    CHECK(first.out.find("client-2: ") != std::string::npos);
    int identical = 1;
    for (int run = 1; run < 50; ++run) {
      const Output again = run_demo("--seed " + std::to_string(seed));
      CHECK(again.status == 0);
      if (again.out == first.out) {
        ++identical;
      } else {
        FAIL_CHECK("run " << run << " differs:\n" << again.out);
      }
    }
    CHECK(identical == 50);
    per_seed.insert(first.out);
    normalized.insert(without_ports(first.out));
  }
  // The seed is used: it picks the clients' ephemeral ports, and nothing else when
  // each task runs until it blocks.
  CHECK(per_seed.size() == 3);
  CHECK(normalized.size() == 1);
}

TEST_CASE("determinism: the --trace output is identical across runs", "[determinism]") {
  std::vector<std::string> traces;
  for (int run = 0; run < 3; ++run) {
    const std::string path = temp_path(std::to_string(run));
    const Output output = run_demo("--seed 42 --trace " + quoted(path));
    CHECK(output.status == 0);
    CHECK_FALSE(output.out.empty());
    traces.push_back(read_file(path));
    std::remove(path.c_str());
  }
  REQUIRE_FALSE(traces[0].empty());
  CHECK(traces[0].rfind("{\"seq\":1,\"t\":0,\"event\":\"spawn\"", 0) == 0);
  CHECK(traces[1] == traces[0]);
  CHECK(traces[2] == traces[0]);
}

TEST_CASE("determinism: --policy random repeats per seed and varies across seeds",
          "[determinism]") {
  std::set<std::string> distinct;
  for (int seed = 1; seed <= 10; ++seed) {
    INFO("seed " << seed);
    const std::string args = "--seed " + std::to_string(seed) + " --policy random";
    const Output first = run_demo(args);
    REQUIRE(first.status == 0);
    REQUIRE_FALSE(first.out.empty());
    for (int run = 1; run < 5; ++run) {
      const Output again = run_demo(args);
      CHECK(again.status == 0);
      CHECK(again.out == first.out);
    }
    distinct.insert(without_ports(first.out));
  }
  // Different interleavings, not merely different ports.
  CHECK(distinct.size() >= 2);
}

#else

TEST_CASE("determinism: the echo demo binary is known", "[determinism]") {
  FAIL("NETSIM_ECHO_DEMO not defined: the build must pass the echo_demo path to the tests");
}

#endif
