// Virtual time: it starts at the configured epoch and moves only when the scheduler
// says so, jumping to the next timer when no task can run. Tests assert virtual
// durations only; none of them measures wall time.
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

TEST_CASE("time: the default epoch is 2024-01-01T00:00:00Z", "[time]") {
  using namespace std::chrono;
  const auto new_year = sys_days{year{2024} / January / 1};
  CHECK(kDefaultEpoch == duration_cast<nanoseconds>(new_year.time_since_epoch()).count());
  CHECK(Config{}.epoch == kDefaultEpoch);
}

TEST_CASE("time: the clock starts at the epoch, monotonic time at zero", "[time]") {
  Simulation sim;
  Nanos now = -1, monotonic = -1;
  sim.spawn("app", [&](Sys& sys) {
    now = sys.now();
    monotonic = sys.monotonic();
  });
  const RunResult result = run_checked(sim);
  CHECK(now == kDefaultEpoch);
  CHECK(monotonic == 0);
  CHECK(result.elapsed == 0);
}

TEST_CASE("time: sleep(5 s) advances virtual time by exactly 5 s", "[time]") {
  Simulation sim;
  Nanos now_before = -1, now_after = -1, mono_after = -1;
  sim.spawn("app", [&](Sys& sys) {
    now_before = sys.now();
    sys.sleep(5 * kSecond);
    now_after = sys.now();
    mono_after = sys.monotonic();
  });
  const RunResult result = run_checked(sim);
  CHECK(now_after - now_before == 5 * kSecond);
  CHECK(mono_after == 5 * kSecond);
  CHECK(result.elapsed == 5 * kSecond);
}

TEST_CASE("time: sleep(0) and negative sleeps return at once", "[time]") {
  Simulation sim;
  Nanos after = -1;
  sim.spawn("app", [&](Sys& sys) {
    sys.sleep(0);
    sys.sleep(-kSecond);
    after = sys.monotonic();
  });
  run_checked(sim);
  CHECK(after == 0);
}

TEST_CASE("time: tasks sleeping different durations wake in deadline order", "[time]") {
  Simulation sim;
  std::vector<std::pair<std::string, Nanos>> woke;
  auto sleeper = [&](std::string name, Nanos duration) {
    return [&woke, name, duration](Sys& sys) {
      sys.sleep(duration);
      woke.emplace_back(name, sys.monotonic());
      sys.sleep(10 * kSecond);  // stay alive: the last process's exit ends the run
    };
  };
  sim.spawn("three", sleeper("three", 3 * kSecond));
  sim.spawn("one", sleeper("one", 1 * kSecond));
  sim.spawn("two", sleeper("two", 2 * kSecond));
  run_checked(sim);
  const std::vector<std::pair<std::string, Nanos>> expected = {
      {"one", 1 * kSecond}, {"two", 2 * kSecond}, {"three", 3 * kSecond}};
  CHECK(woke == expected);
}

TEST_CASE("time: equal deadlines wake in the order the tasks went to sleep", "[time]") {
  // "late" is spawned first but reaches its (equal) deadline's sleep last.
  Simulation sim;
  std::vector<std::string> woke;
  sim.spawn("late", [&](Sys& sys) {
    sys.sleep(500 * kMillisecond);
    sys.sleep(500 * kMillisecond);  // deadline 1 s, set at 0.5 s
    woke.push_back("late");
    sys.sleep(kSecond);
  });
  sim.spawn("b", [&](Sys& sys) {
    sys.sleep(kSecond);  // deadline 1 s, set at 0
    woke.push_back("b");
    sys.sleep(kSecond);
  });
  sim.spawn("c", [&](Sys& sys) {
    sys.sleep(kSecond);  // deadline 1 s, set at 0, after b
    woke.push_back("c");
    sys.sleep(kSecond);
  });
  run_checked(sim);
  CHECK(woke == std::vector<std::string>{"b", "c", "late"});
}

TEST_CASE("time: time moves only when no task can run", "[time]") {
  Simulation sim;
  Nanos work_start = -1, work_end = -1, sleeper_woke = -1;
  sim.spawn("sleeper", [&](Sys& sys) {
    sys.sleep(kSecond);
    sleeper_woke = sys.monotonic();
  });
  sim.spawn("worker", [&](Sys& sys) {
    work_start = sys.monotonic();
    // Plenty of calls, none of which blocks: the clock must stand still.
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    for (int i = 0; i < 1000; ++i) sys.getsockname(fd);
    for (int i = 0; i < 100; ++i) sys.print("working");
    work_end = sys.monotonic();
    sys.sleep(2 * kSecond);
  });
  const RunResult result = run_checked(sim);
  CHECK(work_start == 0);
  CHECK(work_end == 0);
  CHECK(sleeper_woke == kSecond);
  CHECK(result.elapsed == 2 * kSecond);
}

TEST_CASE("time: Config::call_cost makes each call cost that much virtual time", "[time]") {
  Simulation sim(Config{.call_cost = kMillisecond});
  Nanos start = -1, after_calls = -1, after_sleep = -1;
  sim.spawn("app", [&](Sys& sys) {
    start = sys.monotonic();
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);  // 1
    for (int i = 0; i < 9; ++i) sys.getsockname(fd);  // 9 more
    after_calls = sys.monotonic();
    sys.sleep(kSecond);  // one more call, then the sleep itself
    after_sleep = sys.monotonic();
  });
  run_checked(sim);
  CHECK(start == 0);
  CHECK(after_calls == 10 * kMillisecond);
  CHECK(after_sleep == 11 * kMillisecond + kSecond);
}

TEST_CASE("time: a custom epoch sets the wall clock, trace times stay relative", "[time]") {
  const Nanos epoch = 1'000'000'000 * kSecond;  // 2001-09-09T01:46:40Z
  Simulation sim(Config{.epoch = epoch});
  Nanos at_start = -1, after = -1, mono = -1;
  sim.spawn("app", [&](Sys& sys) {
    at_start = sys.now();
    sys.sleep(2 * kSecond);
    after = sys.now();
    mono = sys.monotonic();
    sys.print("done");
  });
  run_checked(sim);
  CHECK(at_start == epoch);
  CHECK(after == epoch + 2 * kSecond);
  CHECK(mono == 2 * kSecond);
  const Event* output = nullptr;
  for (const Event& e : sim.trace().events())
    if (e.kind == EventKind::output) output = &e;
  REQUIRE(output != nullptr);
  CHECK(output->time == 2 * kSecond);
}
