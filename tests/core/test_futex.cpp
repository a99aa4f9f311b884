// Futexes: the wait/wake primitive under user-space locks (Python's threading).
// Waiters wake in the order they came, as many as asked for; timeouts expire in
// exact virtual time; a deadlock report names what each task waits in.
#include <cerrno>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

constexpr std::uint64_t kKey = 0x5eed;

long futex_wait(Sys& sys, std::uint64_t key, std::optional<Nanos> timeout, const char* what) {
  return sys.kernel().futex_wait(sys.task(), key, timeout, what);
}

long futex_wake(Sys& sys, std::uint64_t key, int count) {
  return sys.kernel().futex_wake(sys.task(), key, count);
}

// Starts `n` threads that each wait on kKey and record their number when woken.
// The threads start in order and each blocks before the next starts.
void start_waiters(Sys& sys, int n, std::vector<int>& woken) {
  for (int i = 0; i < n; ++i) {
    sys.spawn_thread("waiter" + std::to_string(i), [i, &woken](Sys& s) {
      if (futex_wait(s, kKey, std::nullopt, "test.wait") == 0) woken.push_back(i);
    });
  }
  sys.sleep(kMillisecond);  // lets every waiter block
}

}  // namespace

TEST_CASE("futex: wake wakes waiters in the order they came", "[futex]") {
  Simulation sim;
  std::vector<int> woken;
  std::vector<long> counts;
  sim.spawn("main", [&](Sys& sys) {
    start_waiters(sys, 4, woken);
    for (int i = 0; i < 4; ++i) {
      counts.push_back(futex_wake(sys, kKey, 1));
      sys.sleep(kMillisecond);
    }
  });
  run_checked(sim);
  CHECK(woken == std::vector<int>{0, 1, 2, 3});
  CHECK(counts == std::vector<long>{1, 1, 1, 1});
}

TEST_CASE("futex: wake wakes at most count waiters and says how many", "[futex]") {
  Simulation sim;
  std::vector<int> woken;
  std::vector<long> counts;
  std::vector<int> after_first;
  sim.spawn("main", [&](Sys& sys) {
    start_waiters(sys, 5, woken);
    counts.push_back(futex_wake(sys, kKey, 2));
    sys.sleep(kMillisecond);
    after_first = woken;
    counts.push_back(futex_wake(sys, kKey, 10));
    counts.push_back(futex_wake(sys, kKey, 10));  // nobody is left
    counts.push_back(futex_wake(sys, kKey + 1, 1));  // nobody ever waited there
    sys.sleep(kMillisecond);  // the process ends with this task
  });
  run_checked(sim);
  CHECK(after_first == std::vector<int>{0, 1});
  CHECK(woken == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(counts == std::vector<long>{2, 3, 0, 0});
}

TEST_CASE("futex: keys are separate queues", "[futex]") {
  Simulation sim;
  std::vector<std::string> woken;
  sim.spawn("main", [&](Sys& sys) {
    for (const std::uint64_t key : {kKey, kKey + 1}) {
      sys.spawn_thread("t", [key, &woken](Sys& s) {
        futex_wait(s, key, std::nullopt, "test.wait");
        woken.push_back(std::to_string(key - kKey));
      });
    }
    sys.sleep(kMillisecond);
    CHECK(futex_wake(sys, kKey + 1, 1) == 1);
    sys.sleep(kMillisecond);
    CHECK(woken == std::vector<std::string>{"1"});
    CHECK(futex_wake(sys, kKey, 1) == 1);
    sys.sleep(kMillisecond);  // the process ends with this task
  });
  run_checked(sim);
  CHECK(woken == std::vector<std::string>{"1", "0"});
}

TEST_CASE("futex: a timeout expires in exact virtual time", "[futex]") {
  Simulation sim;
  long timed_out = 1, immediate = 1, woken = 1;
  Nanos waited = -1, immediate_waited = -1, woken_at = -1;
  sim.spawn("main", [&](Sys& sys) {
    Nanos start = sys.monotonic();
    timed_out = futex_wait(sys, kKey, 1500 * kMillisecond, "test.wait");
    waited = sys.monotonic() - start;
    start = sys.monotonic();
    immediate = futex_wait(sys, kKey, 0, "test.wait");
    immediate_waited = sys.monotonic() - start;
    sys.spawn_thread("waker", [](Sys& s) {
      s.sleep(250 * kMillisecond);
      futex_wake(s, kKey, 1);
    });
    start = sys.monotonic();
    woken = futex_wait(sys, kKey, 10 * kSecond, "test.wait");
    woken_at = sys.monotonic() - start;
  });
  const RunResult result = run_checked(sim);
  CHECK(timed_out == -ETIMEDOUT);
  CHECK(waited == 1500 * kMillisecond);
  CHECK(immediate == -ETIMEDOUT);
  CHECK(immediate_waited == 0);
  CHECK(woken == 0);
  CHECK(woken_at == 250 * kMillisecond);
  // The woken wait's timer is stale: it must not move the clock to 10 s.
  CHECK(result.elapsed == 1750 * kMillisecond);
}

TEST_CASE("futex: a deadlock report names each task's wait", "[futex]") {
  Simulation sim;
  sim.spawn("app", [&](Sys& sys) {
    sys.spawn_thread("worker", [](Sys& s) { futex_wait(s, kKey, std::nullopt, "Lock.acquire"); });
    sys.sleep(kSecond);
    futex_wait(sys, kKey + 1, std::nullopt, "Thread.join");
  });
  std::string report;
  try {
    sim.run();
    FAIL("run() returned although both tasks wait forever");
  } catch (const DeadlockError& e) {
    report = e.what();
  }
  CHECK(report ==
        "deadlock at 1.000000s: every task is blocked and no timer is pending\n"
        "  app (pid 1000, task 1): Thread.join\n"
        "  worker (pid 1000, task 2): Lock.acquire\n");
}

TEST_CASE("futex: a waiter still blocked when the run ends is stopped and unwinds", "[futex]") {
  Simulation sim;
  bool unwound = false;
  sim.spawn("server", [&](Sys& sys) {
    struct Flag {
      bool& set;
      ~Flag() { set = true; }
    } flag{unwound};
    futex_wait(sys, kKey, std::nullopt, "test.wait");
  });
  sim.spawn("client", [](Sys& sys) { sys.sleep(kSecond); });
  const RunResult result = run_checked(sim);
  CHECK(unwound);
  CHECK(result.processes[0].killed);
  CHECK(result.processes[0].status == kKilledStatus);
}
