// Timers in virtual time: timerfd (expirations counted, read as a u64, seen by poll),
// the process's setitimer timers (getitimer, alarm) and POSIX timers, whose signals
// go to the front-end's signal hook. Values as Linux gives them.
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "scenario_harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// The expirations read, or -errno.
long long read_count(Sys& sys, int fd) {
  std::uint64_t value = 0;
  const long r = sys.kernel().recvfrom(sys.task(), fd, &value, sizeof value, 0, nullptr);
  return r < 0 ? r : static_cast<long long>(value);
}

short readiness(Sys& sys, int fd) {
  pollfd p{fd, POLLIN | POLLOUT, 0};
  sys.kernel().poll(sys.task(), {&p, 1}, 0);
  return p.revents;
}

using Expiry = std::pair<Nanos, int>;  // when, which signal

}  // namespace

TEST_CASE("timers: a timerfd counts expirations in virtual time", "[timers]") {
  Simulation sim;
  std::vector<long long> reads;
  std::vector<Nanos> at;
  Kernel::TimerValue after_set, old_on_disarm;
  short before = 0, due = 0;
  long write_result = 0, again = 0;
  sim.spawn("timer", [&](Sys& sys) {
    Kernel& k = sys.kernel();
    const int fd = static_cast<int>(k.timerfd_create(sys.task(), CLOCK_MONOTONIC, 0));
    REQUIRE(fd >= 0);
    REQUIRE(k.timerfd_settime(sys.task(), fd, 0, {1500 * kMillisecond, kSecond}, nullptr) == 0);
    k.timerfd_gettime(sys.task(), fd, &after_set);
    before = readiness(sys, fd);
    reads.push_back(read_count(sys, fd));  // blocks until 1.5 s
    at.push_back(k.clock().elapsed());
    sys.sleep(3200 * kMillisecond);       // 4.7 s: expired at 2.5, 3.5 and 4.5
    due = readiness(sys, fd);
    reads.push_back(read_count(sys, fd));
    std::uint64_t one = 1;
    write_result = k.sendto(sys.task(), fd, &one, sizeof one, 0, nullptr);
    REQUIRE(k.timerfd_settime(sys.task(), fd, 0, {}, &old_on_disarm) == 0);
    REQUIRE(k.set_nonblocking(sys.task(), fd, true) == 0);
    sys.sleep(10 * kSecond);
    again = static_cast<long>(read_count(sys, fd));
  });
  run_checked(sim);
  CHECK(after_set.value == 1500 * kMillisecond);
  CHECK(after_set.interval == kSecond);
  CHECK(before == 0);  // neither readable nor, unlike an eventfd, writable
  CHECK(due == POLLIN);
  CHECK(reads == std::vector<long long>{1, 3});
  CHECK(at == std::vector<Nanos>{1500 * kMillisecond});
  CHECK(write_result == -EINVAL);
  CHECK(old_on_disarm.value == 800 * kMillisecond);  // next expiry at 5.5 s, read at 4.7 s
  CHECK(old_on_disarm.interval == kSecond);
  CHECK(again == -EAGAIN);  // disarmed: nothing more
}

TEST_CASE("timers: TFD_TIMER_ABSTIME reads the timerfd's own clock", "[timers]") {
  Simulation sim(Config{.epoch = 1000 * kSecond});
  std::vector<Nanos> woken;
  sim.spawn("abs", [&](Sys& sys) {
    Kernel& k = sys.kernel();
    for (const int clock : {CLOCK_MONOTONIC, CLOCK_REALTIME}) {
      const int fd = static_cast<int>(k.timerfd_create(sys.task(), clock, TFD_CLOEXEC));
      const Nanos now = clock == CLOCK_MONOTONIC ? k.clock().monotonic() : k.clock().now();
      REQUIRE(k.timerfd_settime(sys.task(), fd, TFD_TIMER_ABSTIME, {now + 2 * kSecond, 0}, nullptr) == 0);
      CHECK(read_count(sys, fd) == 1);
      woken.push_back(k.clock().elapsed());
    }
  });
  run_checked(sim);
  CHECK(woken == std::vector<Nanos>{2 * kSecond, 4 * kSecond});
}

TEST_CASE("timers: timerfd refuses what Linux refuses", "[timers]") {
  Simulation sim;
  std::vector<long> got;
  sim.spawn("bad", [&](Sys& sys) {
    Kernel& k = sys.kernel();
    got.push_back(k.timerfd_create(sys.task(), CLOCK_PROCESS_CPUTIME_ID, 0));
    got.push_back(k.timerfd_create(sys.task(), CLOCK_MONOTONIC, 0x40));
    const int fd = static_cast<int>(k.timerfd_create(sys.task(), CLOCK_MONOTONIC, 0));
    got.push_back(k.timerfd_settime(sys.task(), fd, 0, {-1, 0}, nullptr));
    got.push_back(k.timerfd_settime(sys.task(), fd, 4, {kSecond, 0}, nullptr));
    const int event = static_cast<int>(k.eventfd(sys.task(), 0, 0));
    got.push_back(k.timerfd_settime(sys.task(), event, 0, {kSecond, 0}, nullptr));
    got.push_back(k.timerfd_settime(sys.task(), 99, 0, {kSecond, 0}, nullptr));
  });
  run_checked(sim);
  CHECK(got == std::vector<long>{-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EBADF});
}

TEST_CASE("timers: ITIMER_REAL signals through the hook; alarm rounds as Linux", "[timers]") {
  for (int run = 0; run < 2; ++run) {
    Simulation sim;
    std::vector<Expiry> signals;
    Kernel::TimerValue set, old, cleared;
    std::vector<long> alarms;
    sim.kernel().set_signal_hook([&](Process& process, int signal) {
      CHECK(process.name() == "alarmed");
      signals.push_back({sim.kernel().clock().elapsed(), signal});
    });
    sim.spawn("alarmed", [&](Sys& sys) {
      Kernel& k = sys.kernel();
      REQUIRE(k.setitimer(sys.task(), ITIMER_REAL, {kSecond, 500 * kMillisecond}, nullptr) == 0);
      k.getitimer(sys.task(), ITIMER_REAL, &set);
      sys.sleep(2200 * kMillisecond);  // expiries at 1.0, 1.5, 2.0
      REQUIRE(k.setitimer(sys.task(), ITIMER_REAL, {}, &old) == 0);  // disarm: silent, answers the old value
      k.getitimer(sys.task(), ITIMER_REAL, &cleared);
      alarms.push_back(k.alarm(sys.task(), 5));
      sys.sleep(2300 * kMillisecond);
      alarms.push_back(k.alarm(sys.task(), 1));  // 2.7 s left: 3
      sys.sleep(700 * kMillisecond);
      alarms.push_back(k.alarm(sys.task(), 0));  // 0.3 s left: 1, never 0
      sys.sleep(5 * kSecond);
    });
    run_checked(sim);
    CHECK(set.value == kSecond);
    CHECK(set.interval == 500 * kMillisecond);
    CHECK(old.value == 300 * kMillisecond);
    CHECK(old.interval == 500 * kMillisecond);
    CHECK(cleared.value == 0);
    CHECK(alarms == std::vector<long>{0, 3, 1});
    CHECK(signals == std::vector<Expiry>{{kSecond, SIGALRM}, {1500 * kMillisecond, SIGALRM},
                                         {2 * kSecond, SIGALRM}});
  }
}

TEST_CASE("timers: without a front-end to deliver SIGALRM, setitimer fails with ENOSYS",
          "[timers]") {
  Simulation sim;
  long r = 0;
  sim.spawn("alone", [&](Sys& sys) { r = sys.kernel().setitimer(sys.task(), ITIMER_REAL, {kSecond, 0}, nullptr); });
  run_checked(sim);
  CHECK(r == -ENOSYS);
}

TEST_CASE("timers: POSIX timers signal, count overruns, and go at delete and exec", "[timers]") {
  for (int run = 0; run < 2; ++run) {
    Simulation sim;
    std::vector<Expiry> signals;
    std::vector<long> got;
    Kernel::TimerValue quiet;
    sim.kernel().set_signal_hook([&](Process&, int signal) {
      signals.push_back({sim.kernel().clock().elapsed(), signal});
    });
    sim.spawn("timed", [&](Sys& sys) {
      Kernel& k = sys.kernel();
      const long ticker = k.timer_create(sys.task(), CLOCK_MONOTONIC, SIGUSR1);
      const long none = k.timer_create(sys.task(), CLOCK_REALTIME, 0);
      got.insert(got.end(), {ticker, none});
      got.push_back(k.timer_settime(sys.task(), static_cast<int>(ticker), 0, {kSecond, 100 * kMillisecond}, nullptr));
      got.push_back(k.timer_settime(sys.task(), static_cast<int>(none), 0, {3 * kSecond, 0}, nullptr));
      sys.sleep(1250 * kMillisecond);  // signals at 1.0, 1.1, 1.2: one each, no overrun
      got.push_back(k.timer_getoverrun(sys.task(), static_cast<int>(ticker)));
      got.push_back(k.timer_delete(sys.task(), static_cast<int>(ticker)));
      got.push_back(k.timer_delete(sys.task(), static_cast<int>(ticker)));
      k.timer_gettime(sys.task(), static_cast<int>(none), &quiet);
      k.exec_timers(sys.task().process());
      Kernel::TimerValue gone;
      got.push_back(k.timer_gettime(sys.task(), static_cast<int>(none), &gone));
      got.push_back(k.timer_create(sys.task(), CLOCK_MONOTONIC, SIGUSR2));  // ids go on: 2
      sys.sleep(5 * kSecond);
    });
    run_checked(sim);
    CHECK(got == std::vector<long>{0, 1, 0, 0, 0, 0, -EINVAL, -EINVAL, 2});
    CHECK(quiet.value == 1750 * kMillisecond);  // SIGEV_NONE: armed, never signals
    CHECK(signals == std::vector<Expiry>{{kSecond, SIGUSR1}, {1100 * kMillisecond, SIGUSR1},
                                         {1200 * kMillisecond, SIGUSR1}});
  }
}

TEST_CASE("timers: an absolute time is read on the host's own clocks", "[timers]") {
  Simulation sim;
  sim.kernel().set_signal_hook([](Process&, int) {});
  Scenario scenario;
  scenario.hosts = {HostSpec{.name = "skewed", .processes = {"timed"}, .clock_offset = -2 * kSecond,
                             .clock_drift = 0.01}};
  sim.apply(scenario);
  Kernel::TimerValue wall, monotonic;
  sim.spawn("timed", [&](Sys& sys) {
    Kernel& k = sys.kernel();
    sys.sleep(10 * kSecond);  // the host's clocks are 0.1 s ahead of the simulation's by now
    const Host& host = sys.task().process().host();
    const int a = static_cast<int>(k.timer_create(sys.task(), CLOCK_REALTIME, 0));
    const int b = static_cast<int>(k.timer_create(sys.task(), CLOCK_MONOTONIC, 0));
    k.timer_settime(sys.task(), a, TIMER_ABSTIME, {k.wall_clock(host) + kSecond, 0}, nullptr);
    k.timer_settime(sys.task(), b, TIMER_ABSTIME, {k.monotonic_clock(host) + 2 * kSecond, 0}, nullptr);
    k.timer_gettime(sys.task(), a, &wall);
    k.timer_gettime(sys.task(), b, &monotonic);
  });
  run_checked(sim);
  CHECK(wall.value == kSecond);
  CHECK(monotonic.value == 2 * kSecond);
}
