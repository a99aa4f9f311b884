// epoll as the simulated kernel keeps it. Each case replays a part of
// tests/python/programs/epoll_check.c through the kernel's calls and expects the
// lines that program printed natively (Linux 6.18, x86-64), where Linux defines them.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// The kernel's calls for one task, printing as epoll_check.c does.
struct Check {
  Sys& sys;
  std::vector<std::string>& lines;

  Kernel& k() { return sys.kernel(); }
  Task& t() { return sys.task(); }

  static std::string outcome(long r) { return r >= 0 ? "ok" : errno_name(static_cast<int>(-r)); }

  int create() { return static_cast<int>(k().epoll_create(t(), 0)); }
  void ctl(const char* what, int ep, int op, int fd, std::uint32_t events, std::uint64_t tag) {
    lines.push_back(fmt::format("{}: {}", what, outcome(k().epoll_ctl(t(), ep, op, fd, events, tag))));
  }
  void wait_for(const char* what, int ep, std::size_t max) {
    std::vector<Kernel::EpollEvent> out(max);
    const long n = k().epoll_wait(t(), ep, out, Nanos{0});
    std::string line = fmt::format("{}:", what);
    if (n < 0) line += " " + outcome(n);
    for (long i = 0; i < n; ++i) line += fmt::format(" {}:{:#x}", out[i].data, out[i].events);
    lines.push_back(line);
  }
  // A connected pair of non-blocking Unix stream sockets, as socketpair(2).
  std::pair<int, int> pair() {
    const int a = k().lowest_free_fd(t().process());
    const int b = k().lowest_free_fd(t().process(), a);
    REQUIRE(k().socketpair(t(), SOCK_STREAM | SOCK_NONBLOCK, a, b) == 0);
    return {a, b};
  }
  void put(int fd) { REQUIRE(k().sendto(t(), fd, "x", 1, 0, nullptr) == 1); }
  void take(int fd) {
    char buf[64];
    while (k().recvfrom(t(), fd, buf, sizeof buf, 0, nullptr) > 0) {
    }
  }
  void close(int fd) { k().close(t(), fd); }

  static std::string errno_name(int code) {
    switch (code) {
      case EINVAL: return "EINVAL";
      case EEXIST: return "EEXIST";
      case ENOENT: return "ENOENT";
      case EBADF: return "EBADF";
      case ELOOP: return "ELOOP";
      default: return std::to_string(code);
    }
  }
};

std::vector<std::string> run_check(const std::function<void(Check&)>& body) {
  Simulation sim;
  std::vector<std::string> lines;
  sim.spawn("check", [&](Sys& sys) {
    Check check{sys, lines};
    body(check);
  });
  run_checked(sim);
  return lines;
}

}  // namespace

TEST_CASE("epoll: errors as Linux reports them", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int ep = c.create();
    const auto [a, b] = c.pair();
    c.lines.push_back("create1 bad flags: " + Check::outcome(c.k().epoll_create(c.t(), 1)));
    c.ctl("add", ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
    c.ctl("add again", ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
    c.ctl("mod unregistered", ep, EPOLL_CTL_MOD, b, EPOLLIN, 2);
    c.ctl("del unregistered", ep, EPOLL_CTL_DEL, b, 0, 0);
    c.ctl("add itself", ep, EPOLL_CTL_ADD, ep, EPOLLIN, 3);
    c.ctl("epfd not epoll", b, EPOLL_CTL_ADD, a, EPOLLIN, 4);
    c.ctl("bad fd", ep, EPOLL_CTL_ADD, 999, EPOLLIN, 5);
    c.ctl("bad epfd", 999, EPOLL_CTL_ADD, a, EPOLLIN, 6);
    c.ctl("bad op", ep, 42, b, EPOLLIN, 7);
    c.ctl("mod exclusive", ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLEXCLUSIVE, 8);
    c.ctl("add exclusive oneshot", ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 9);
    c.ctl("del", ep, EPOLL_CTL_DEL, a, 0, 0);
    c.ctl("del again", ep, EPOLL_CTL_DEL, a, 0, 0);
    c.wait_for("wait max 0", ep, 0);
    c.wait_for("wait on a socket", a, 1);
    char buf[16];
    c.lines.push_back("read an epoll fd: " + Check::outcome(c.k().recvfrom(c.t(), ep, buf, sizeof buf, 0, nullptr)));
  });
  CHECK(lines == std::vector<std::string>{
                     "create1 bad flags: EINVAL", "add: ok", "add again: EEXIST", "mod unregistered: ENOENT",
                     "del unregistered: ENOENT", "add itself: EINVAL", "epfd not epoll: EINVAL", "bad fd: EBADF",
                     "bad epfd: EBADF", "bad op: EINVAL", "mod exclusive: EINVAL",
                     "add exclusive oneshot: EINVAL", "del: ok", "del again: ENOENT", "wait max 0: EINVAL",
                     "wait on a socket: EINVAL", "read an epoll fd: EINVAL"});
}

TEST_CASE("epoll: loops and chains deeper than five instances are ELOOP", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int a = c.create(), b = c.create();
    c.ctl("a in b", b, EPOLL_CTL_ADD, a, EPOLLIN, 1);
    c.ctl("b in a", a, EPOLL_CTL_ADD, b, EPOLLIN, 2);
    int e[8];
    for (int& fd : e) fd = c.create();
    for (int i = 1; i < 8; ++i)
      c.ctl(fmt::format("chain {}", i).c_str(), e[i], EPOLL_CTL_ADD, e[i - 1], EPOLLIN, i);
  });
  CHECK(lines == std::vector<std::string>{"a in b: ok", "b in a: ELOOP", "chain 1: ok", "chain 2: ok",
                                          "chain 3: ok", "chain 4: ok", "chain 5: ELOOP", "chain 6: ok",
                                          "chain 7: ok"});
}

TEST_CASE("epoll: level-triggered, EPOLLET re-armed by each arrival, EPOLLONESHOT until MOD", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int ep = c.create();
    const auto lt = c.pair(), et = c.pair(), os = c.pair();
    c.ctl("add lt", ep, EPOLL_CTL_ADD, lt.first, EPOLLIN, 1);
    c.ctl("add et", ep, EPOLL_CTL_ADD, et.first, EPOLLIN | EPOLLOUT | EPOLLET, 2);
    c.ctl("add oneshot", ep, EPOLL_CTL_ADD, os.first, EPOLLIN | EPOLLONESHOT, 3);
    c.wait_for("writable only", ep, 16);
    c.wait_for("again", ep, 16);
    c.put(lt.second);
    c.put(et.second);
    c.put(os.second);
    c.wait_for("data", ep, 16);
    c.wait_for("data again", ep, 16);
    c.put(et.second);
    c.put(os.second);
    c.wait_for("more data", ep, 16);
    c.ctl("mod oneshot", ep, EPOLL_CTL_MOD, os.first, EPOLLIN | EPOLLONESHOT, 3);
    c.ctl("mod et", ep, EPOLL_CTL_MOD, et.first, EPOLLIN | EPOLLET, 2);
    c.wait_for("after mod", ep, 16);
    c.take(lt.first);
    c.take(et.first);
    c.take(os.first);
    c.wait_for("drained", ep, 16);
    c.close(lt.second);
    c.wait_for("peer closed", ep, 16);
    c.ctl("mod no events", ep, EPOLL_CTL_MOD, lt.first, 0, 1);
    c.wait_for("hangup unasked", ep, 16);
  });
  CHECK(lines == std::vector<std::string>{
                     "add lt: ok", "add et: ok", "add oneshot: ok", "writable only: 2:0x4", "again:",
                     "data: 1:0x1 2:0x5 3:0x1", "data again: 1:0x1", "more data: 1:0x1 2:0x5",
                     "mod oneshot: ok", "mod et: ok", "after mod: 1:0x1 3:0x1 2:0x1", "drained:",
                     "peer closed: 1:0x11", "mod no events: ok", "hangup unasked: 1:0x10"});
}

TEST_CASE("epoll: a short maxevents rotates through the ready entries", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int ep = c.create();
    for (int i = 0; i < 3; ++i) {
      const auto [a, b] = c.pair();
      c.ctl("add", ep, EPOLL_CTL_ADD, a, EPOLLIN, i + 1);
      c.put(b);
    }
    for (int i = 0; i < 4; ++i) c.wait_for("max 1", ep, 1);
    c.wait_for("max 2", ep, 2);
    c.wait_for("max 2", ep, 2);
  });
  CHECK(lines == std::vector<std::string>{"add: ok", "add: ok", "add: ok", "max 1: 1:0x1", "max 1: 2:0x1",
                                          "max 1: 3:0x1", "max 1: 1:0x1", "max 2: 2:0x1 3:0x1",
                                          "max 2: 1:0x1 2:0x1"});
}

TEST_CASE("epoll: entries follow the open file, not the number; dup shares the instance", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int ep = c.create();
    const auto [a, b] = c.pair();
    const int copy = static_cast<int>(c.k().dup(c.t(), a));
    c.ctl("add", ep, EPOLL_CTL_ADD, a, EPOLLIN, 7);
    c.close(a);
    c.put(b);
    c.wait_for("registered fd closed, dup open", ep, 16);
    c.ctl("del closed fd", ep, EPOLL_CTL_DEL, a, 0, 0);
    c.ctl("add the dup", ep, EPOLL_CTL_ADD, copy, EPOLLIN, 8);
    c.wait_for("both", ep, 16);
    c.close(copy);
    c.wait_for("last closed", ep, 16);
    const int ep2 = static_cast<int>(c.k().dup(c.t(), ep));
    int p[2] = {-1, -1};
    REQUIRE(c.k().pipe(c.t(), 0, p) == 0);
    c.ctl("add pipe through dup", ep2, EPOLL_CTL_ADD, p[0], EPOLLIN, 9);
    c.put(p[1]);
    c.wait_for("pipe via original", ep, 16);
    c.close(ep2);
    const int ev = static_cast<int>(c.k().eventfd(c.t(), 0, 0));
    c.ctl("add eventfd", ep, EPOLL_CTL_ADD, ev, EPOLLIN | EPOLLET, 10);
    const std::uint64_t one = 1;
    c.k().sendto(c.t(), ev, &one, sizeof one, 0, nullptr);
    c.wait_for("eventfd", ep, 16);
    c.wait_for("eventfd again", ep, 16);
  });
  CHECK(lines == std::vector<std::string>{"add: ok", "registered fd closed, dup open: 7:0x1", "del closed fd: EBADF",
                                          "add the dup: ok", "both: 7:0x1 8:0x1", "last closed:",
                                          "add pipe through dup: ok", "pipe via original: 9:0x1",
                                          "add eventfd: ok", "eventfd: 9:0x1 10:0x1", "eventfd again: 9:0x1"});
}

TEST_CASE("epoll: an epoll inside an epoll is readable while it has events", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int inner = c.create(), outer = c.create();
    const auto [a, b] = c.pair();
    c.ctl("add socket to inner", inner, EPOLL_CTL_ADD, a, EPOLLIN, 1);
    c.ctl("add inner to outer", outer, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLET, 2);
    c.wait_for("outer idle", outer, 16);
    c.put(b);
    c.wait_for("outer", outer, 16);
    c.wait_for("outer again (et)", outer, 16);
    c.wait_for("inner", inner, 16);
  });
  CHECK(lines == std::vector<std::string>{"add socket to inner: ok", "add inner to outer: ok", "outer idle:",
                                          "outer: 2:0x1", "outer again (et):", "inner: 1:0x1"});
}

TEST_CASE("epoll: a forked child shares the interest list", "[epoll]") {
  std::vector<std::string> lines;
  Simulation sim;
  sim.spawn("parent", [&](Sys& sys) {
    Check c{sys, lines};
    const int ep = c.create();
    const auto [a, b] = c.pair();
    fork_with(sys, [&lines, ep, a, b](Sys& s) {
      Check child{s, lines};
      child.ctl("child adds", ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 11);
      child.put(b);
    });
    int status = 0;
    c.k().wait_child(c.t(), -1, false, &status);
    c.wait_for("parent sees the child's", ep, 16);
    c.ctl("parent adds the same", ep, EPOLL_CTL_ADD, a, EPOLLIN, 12);
    c.ctl("parent mods", ep, EPOLL_CTL_MOD, a, EPOLLIN, 12);
    c.wait_for("parent", ep, 16);
  });
  run_checked(sim);
  CHECK(lines == std::vector<std::string>{"child adds: ok", "parent sees the child's: 11:0x1",
                                          "parent adds the same: EEXIST", "parent mods: ok", "parent: 12:0x1"});
}

TEST_CASE("epoll: a wait blocks in virtual time until data arrives or the timeout", "[epoll]") {
  std::vector<std::string> lines;
  Simulation sim;
  sim.spawn("waiter", [&](Sys& sys) {
    Check c{sys, lines};
    const int ep = c.create();
    const auto [a, b] = c.pair();
    c.ctl("add", ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
    fork_with(sys, [b](Sys& s) {
      s.sleep(3 * kMillisecond);
      REQUIRE(s.kernel().sendto(s.task(), b, "x", 1, 0, nullptr) == 1);
    });
    std::vector<Kernel::EpollEvent> out(4);
    const long timed_out = c.k().epoll_wait(c.t(), ep, out, kMillisecond);
    lines.push_back(fmt::format("{} at {}", timed_out, c.k().clock().elapsed()));
    const long woken = c.k().epoll_wait(c.t(), ep, out, std::nullopt);
    lines.push_back(fmt::format("{} at {}", woken, c.k().clock().elapsed()));
  });
  run_checked(sim);
  CHECK(lines == std::vector<std::string>{"add: ok", fmt::format("0 at {}", kMillisecond),
                                          fmt::format("1 at {}", 3 * kMillisecond)});
}

TEST_CASE("epoll: among many idle entries, an EPOLLET one reports each arrival once", "[epoll]") {
  const auto lines = run_check([](Check& c) {
    const int ep = c.create();
    for (int i = 0; i < 1000; ++i) c.ctl("idle", ep, EPOLL_CTL_ADD, c.pair().first, EPOLLIN, 0);
    const auto [a, b] = c.pair();
    c.ctl("busy", ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLET, 1);
    int seen = 0;
    for (int i = 0; i < 1000; ++i) {
      c.put(b);
      std::vector<Kernel::EpollEvent> out(8);
      seen += static_cast<int>(c.k().epoll_wait(c.t(), ep, out, Nanos{0}));
    }
    c.lines.assign(1, fmt::format("{} events", seen));
  });
  CHECK(lines == std::vector<std::string>{"1000 events"});
}
