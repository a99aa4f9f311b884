// eventfd as the simulated kernel keeps it: a counter that blocks readers at zero and
// writers at its ceiling, seen by poll like a socket; and process groups, which a
// forked child inherits and setpgid/setsid change under Linux's rules.
#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

long write_value(Sys& sys, int fd, std::uint64_t value) {
  return sys.kernel().sendto(sys.task(), fd, &value, sizeof value, 0, nullptr);
}

// The counter read, or -errno.
long long read_value(Sys& sys, int fd) {
  std::uint64_t value = 0;
  const long r = sys.kernel().recvfrom(sys.task(), fd, &value, sizeof value, 0, nullptr);
  return r < 0 ? r : static_cast<long long>(value);
}

}  // namespace

TEST_CASE("eventfd: a read blocks until a write and takes the whole counter", "[eventfd]") {
  Simulation sim;
  std::vector<long long> reads;
  Nanos woken_at = -1;
  sim.spawn("parent", [&](Sys& sys) {
    const int fd = static_cast<int>(sys.kernel().eventfd(sys.task(), 0, 0));
    REQUIRE(fd >= 0);
    fork_with(sys, [fd](Sys& s) {
      s.sleep(kMillisecond);
      write_value(s, fd, 2);
      s.sleep(kMillisecond);
      write_value(s, fd, 5);
    });
    reads.push_back(read_value(sys, fd));
    woken_at = sys.kernel().clock().elapsed();
    int status = 0;
    sys.kernel().wait_child(sys.task(), -1, false, &status);
    reads.push_back(read_value(sys, fd));
  });
  run_checked(sim);
  CHECK(woken_at >= kMillisecond);
  CHECK(reads == std::vector<long long>{2, 5});
}

TEST_CASE("eventfd: EFD_SEMAPHORE reads one at a time; EFD_NONBLOCK answers EAGAIN", "[eventfd]") {
  Simulation sim;
  std::vector<long long> reads;
  long overflow = 0;
  long at_ceiling = 0;
  sim.spawn("solo", [&](Sys& sys) {
    const int fd = static_cast<int>(sys.kernel().eventfd(sys.task(), 2, EFD_SEMAPHORE | EFD_NONBLOCK));
    for (int i = 0; i < 3; ++i) reads.push_back(read_value(sys, fd));
    at_ceiling = write_value(sys, fd, 0xfffffffffffffffeULL);
    overflow = write_value(sys, fd, 1);
  });
  run_checked(sim);
  CHECK(reads == std::vector<long long>{1, 1, -EAGAIN});
  CHECK(at_ceiling == 8);
  CHECK(overflow == -EAGAIN);
}

TEST_CASE("eventfd: bad sizes and values fail with EINVAL", "[eventfd]") {
  Simulation sim;
  long bad_flags = 0;
  long all_ones = 0;
  long short_write = 0;
  long short_read = 0;
  sim.spawn("solo", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    bad_flags = kernel.eventfd(sys.task(), 0, 0x10);
    const int fd = static_cast<int>(kernel.eventfd(sys.task(), 1, 0));
    all_ones = write_value(sys, fd, ~std::uint64_t{0});
    const std::uint32_t small = 1;
    short_write = kernel.sendto(sys.task(), fd, &small, sizeof small, 0, nullptr);
    char byte = 0;
    short_read = kernel.recvfrom(sys.task(), fd, &byte, 1, 0, nullptr);
  });
  run_checked(sim);
  CHECK(bad_flags == -EINVAL);
  CHECK(all_ones == -EINVAL);
  CHECK(short_write == -EINVAL);
  CHECK(short_read == -EINVAL);
}

TEST_CASE("eventfd: poll reports POLLIN while the counter is positive and POLLOUT below its ceiling",
          "[eventfd]") {
  Simulation sim;
  std::vector<short> seen;
  long waited = 0;
  sim.spawn("parent", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int fd = static_cast<int>(kernel.eventfd(sys.task(), 0, 0));
    pollfd entry{fd, POLLIN | POLLOUT, 0};
    kernel.poll(sys.task(), {&entry, 1}, 0);
    seen.push_back(entry.revents);
    fork_with(sys, [fd](Sys& s) {
      s.sleep(kMillisecond);
      write_value(s, fd, 1);
    });
    entry = {fd, POLLIN, 0};
    waited = kernel.poll(sys.task(), {&entry, 1}, std::nullopt);
    seen.push_back(entry.revents);
    write_value(sys, fd, 0xfffffffffffffffdULL);
    entry = {fd, POLLIN | POLLOUT, 0};
    kernel.poll(sys.task(), {&entry, 1}, 0);
    seen.push_back(entry.revents);
  });
  run_checked(sim);
  CHECK(waited == 1);
  CHECK(seen == std::vector<short>{POLLOUT, POLLIN, POLLIN});
}

TEST_CASE("process groups: a child inherits its parent's and setpgid and setsid follow Linux", "[process]") {
  Simulation sim;
  std::vector<long> got;
  std::vector<int> leaders;
  std::vector<int> movers;
  sim.spawn("leader", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    const int me = self.process().pid();
    Process& loner = fork_with(sys, [&](Sys& s) {
      got.push_back(s.kernel().getpgid(s.task(), 0));
      got.push_back(s.kernel().setsid(s.task()));
      got.push_back(s.kernel().getsid(s.task(), 0));
      s.sleep(2 * kMillisecond);
    });
    Process& mover = fork_with(sys, [](Sys& s) { s.sleep(2 * kMillisecond); });
    sys.sleep(kMillisecond);
    got.push_back(kernel.setsid(self));
    // A session leader stays where it is.
    got.push_back(kernel.setpgid(self, loner.pid(), me));
    got.push_back(kernel.setpgid(self, me + 100, 0));
    got.push_back(kernel.setpgid(self, mover.pid(), 0));
    got.push_back(kernel.getpgid(self, mover.pid()));
    got.push_back(kernel.getsid(self, mover.pid()));
    for (const Process* p : kernel.group_members(me)) leaders.push_back(p->pid());
    for (const Process* p : kernel.group_members(mover.pid())) movers.push_back(p->pid());
  });
  run_checked(sim);
  const long leader = kFirstPid;
  const long loner = kFirstPid + 1;
  const long mover = kFirstPid + 2;
  CHECK(got == std::vector<long>{leader, loner, loner, -EPERM, -EPERM, -ESRCH, 0, mover, kOuterSession});
  CHECK(leaders == std::vector<int>{static_cast<int>(leader)});
  CHECK(movers == std::vector<int>{static_cast<int>(mover)});
}
