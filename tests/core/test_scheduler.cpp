// The scheduler and the life of processes: staged start, the end of a run, deadlock
// reports, the random policy, threads, uncaught exceptions and process exit.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// Where `line` (a whole "name: text" line) starts in the transcript; npos if absent.
std::size_t line_at(const std::string& transcript, const std::string& line) {
  std::size_t at = 0;
  for (;;) {
    at = transcript.find(line + "\n", at);
    if (at == std::string::npos || at == 0 || transcript[at - 1] == '\n') return at;
    ++at;
  }
}

std::vector<Event> events_of(const Simulation& sim, EventKind kind) {
  std::vector<Event> out;
  for (const Event& event : sim.trace().events())
    if (event.kind == kind) out.push_back(event);
  return out;
}

// Two threads of one process print five lines each without ever blocking: only
// the scheduler decides how their lines interleave.
Simulation& run_racy(Simulation& sim) {
  sim.spawn("racy", [](Sys& sys) {
    for (const std::string name : {"a", "b"}) {
      sys.spawn_thread(name, [name](Sys& s) {
        for (int i = 0; i < 5; ++i) s.print(name + std::to_string(i));
      });
    }
    sys.sleep(kSecond);  // the process ends with its main task
  });
  run_checked(sim);
  return sim;
}

std::string racy_transcript(Config config) {
  Simulation sim(config);
  return run_racy(sim).transcript();
}

// Sets a flag when destroyed: shows that a stopped task's stack was unwound.
struct Unwound {
  bool& flag;
  ~Unwound() { flag = true; }
};

}  // namespace

TEST_CASE("scheduler: a later process starts only once every earlier one is blocked",
          "[scheduler]") {
  // Under the random policy the scheduler could switch at every call; staging must
  // still hold the client back until the server blocks in accept().
  std::vector<Config> configs{Config{}};
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    configs.push_back(Config{.seed = seed, .policy = Policy::random});
  for (const Config& config : configs) {
    INFO("seed " << config.seed << ", random " << (config.policy == Policy::random));
    Simulation sim(config);
    sim.spawn("server", [](Sys& sys) {
      sys.print("starting");
      const int listener = sys.socket(AF_INET, SOCK_STREAM);
      sys.bind(listener, loopback(9000));
      sys.listen(listener, 5);
      sys.print("listening");
      sys.accept(listener);
      sys.print("accepted");
    });
    sim.spawn("client", [](Sys& sys) {
      sys.print("client up");
      const int fd = connect_to(sys, 9000);
      sys.print("connected");
      sys.sleep(kSecond);
      sys.close(fd);
    });
    run_checked(sim);
    const std::string t = sim.transcript();
    INFO(t);
    REQUIRE(line_at(t, "server: listening") != std::string::npos);
    REQUIRE(line_at(t, "client: client up") != std::string::npos);
    CHECK(line_at(t, "server: listening") < line_at(t, "client: client up"));
    // ... and it does start while the server is blocked, before anything unblocks it.
    REQUIRE(line_at(t, "server: accepted") != std::string::npos);
    CHECK(line_at(t, "client: client up") < line_at(t, "server: accepted"));
  }
}

TEST_CASE("scheduler: the run ends when the last process exits, the rest are killed",
          "[scheduler]") {
  Simulation sim;
  bool server_unwound = false;
  int server_pid = 0, client_pid = 0;
  server_pid = sim.spawn("server", [&](Sys& sys) {
    Unwound guard{server_unwound};
    const int listener = listen_on(sys, 9000);
    for (;;) sys.close(sys.accept(listener));  // serves forever
  });
  client_pid = sim.spawn("client", [&](Sys& sys) {
    sys.close(connect_to(sys, 9000));
    sys.sleep(kSecond);
  });
  const RunResult result = run_checked(sim);
  CHECK(result.exit_status == 0);
  CHECK(result.elapsed == kSecond);
  REQUIRE(result.processes.size() == 2);
  CHECK(result.processes[0].pid == server_pid);
  CHECK(result.processes[0].name == "server");
  CHECK(result.processes[0].status == kKilledStatus);
  CHECK(result.processes[0].killed);
  CHECK(result.processes[1].pid == client_pid);
  CHECK(result.processes[1].status == 0);
  CHECK_FALSE(result.processes[1].killed);
  CHECK(kKilledStatus == 143);
  CHECK(server_unwound);
  const auto kills = events_of(sim, EventKind::kill);
  REQUIRE(kills.size() == 1);
  CHECK(kills[0].pid == server_pid);
  CHECK(kills[0].time == kSecond);
  std::vector<std::pair<int, std::int64_t>> exits;
  for (const Event& e : events_of(sim, EventKind::exit)) exits.emplace_back(e.pid, e.value);
  CHECK(exits == std::vector<std::pair<int, std::int64_t>>{{client_pid, 0}, {server_pid, 143}});
}

TEST_CASE("scheduler: a process asleep when the run ends is killed, its timer ignored",
          "[scheduler]") {
  Simulation sim;
  sim.spawn("napper", [](Sys& sys) { sys.sleep(100 * kSecond); });
  sim.spawn("quick", [](Sys& sys) { sys.print("done"); });
  const RunResult result = run_checked(sim);
  REQUIRE(result.processes.size() == 2);
  CHECK(result.processes[0].killed);
  CHECK(result.processes[0].status == kKilledStatus);
  CHECK(result.elapsed == 0);  // the napper's timer does not move the clock
}

TEST_CASE("scheduler: a deadlock in recv names each task, pid, call and socket",
          "[scheduler]") {
  Simulation sim;
  Address client_local;
  sim.spawn("server", [&](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int conn = sys.accept(listener);
    sys.recv(conn, 100);  // waits for the client, who waits for the server
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    client_local = sys.getsockname(fd);
    sys.sleep(kSecond);
    sys.recv(fd, 100);
  });
  std::string report;
  try {
    sim.run();
    FAIL("run() returned although both tasks wait for each other");
  } catch (const DeadlockError& e) {
    report = e.what();
  }
  INFO(report);
  const std::string client = client_local.str();
  CHECK(report.find("deadlock at 1.000000s") != std::string::npos);
  CHECK(report.find("server (pid 1000, task 1): recv on fd 4 (TCP 127.0.0.1:9000 -> " + client) !=
        std::string::npos);
  CHECK(report.find("client (pid 1001, task 2): recv on fd 3 (TCP " + client +
                    " -> 127.0.0.1:9000") != std::string::npos);
  // The trace keeps the same report.
  const auto deadlocks = events_of(sim, EventKind::deadlock);
  REQUIRE(deadlocks.size() == 1);
  CHECK(deadlocks[0].data == report);
}

TEST_CASE("scheduler: a deadlock in accept names accept and the listening address",
          "[scheduler]") {
  Simulation sim;
  sim.spawn("server", [](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    sys.accept(listener);
  });
  sim.spawn("client", [](Sys& sys) {
    // Forgot to connect: waits for a datagram that never comes.
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, loopback(7000));
    sys.recv(fd, 100);
  });
  std::string report;
  try {
    sim.run();
    FAIL("run() returned although nothing can happen");
  } catch (const DeadlockError& e) {
    report = e.what();
  }
  INFO(report);
  CHECK(report.find("server (pid 1000, task 1): accept on fd 3 (TCP 127.0.0.1:9000, listening") !=
        std::string::npos);
  CHECK(report.find("client (pid 1001, task 2): recv on fd 3 (UDP 127.0.0.1:7000)") !=
        std::string::npos);
}

TEST_CASE("scheduler: a deadlock in poll names every socket polled", "[scheduler]") {
  Simulation sim;
  sim.spawn("poller", [](Sys& sys) {
    const int a = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(a, loopback(7000));
    const int b = listen_on(sys, 9000);
    std::vector<pollfd> fds{{a, POLLIN, 0}, {b, POLLIN, 0}};
    sys.poll(fds, std::nullopt);
  });
  std::string report;
  try {
    sim.run();
    FAIL("run() returned although nothing can happen");
  } catch (const DeadlockError& e) {
    report = e.what();
  }
  INFO(report);
  CHECK(report.find("poller (pid 1000, task 1): poll on fd 3 (UDP 127.0.0.1:7000), fd 4 (TCP "
                    "127.0.0.1:9000, listening") != std::string::npos);
}

TEST_CASE("scheduler: a pending timer is not a deadlock", "[scheduler]") {
  Simulation sim;
  std::string got;
  sim.spawn("receiver", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, loopback(7000));
    got = sys.recv(fd, 100);
  });
  sim.spawn("sender", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.sleep(30 * kSecond);
    sys.sendto(fd, "late", loopback(7000));
    sys.sleep(kSecond);
  });
  CHECK_NOTHROW(run_checked(sim));
  CHECK(got == "late");
}

namespace {

// Records which of its calls came due: the kind of call a delayed link's pipe sets.
struct Recorder final : Scheduler::Alarm {
  std::vector<std::string>& ran;
  explicit Recorder(std::vector<std::string>& log) : ran(log) {}
  void ring(std::uint64_t tag) override { ran.push_back("alarm " + std::to_string(tag)); }
};

}  // namespace

TEST_CASE("scheduler: alarm and function calls run by deadline, then in the order they were set",
          "[scheduler]") {
  Clock clock(0);
  Rng rng(1);
  Scheduler scheduler(clock, rng, Policy::run_until_block);
  std::vector<std::string> ran;
  Recorder alarm(ran);
  const auto note = [&ran](std::string what) { return [&ran, what] { ran.push_back(what); }; };
  const auto kept = std::make_shared<int>(0);  // held only by the call that is cancelled
  scheduler.call_at(20, note("function 20"));
  scheduler.call_at(10, alarm, 1);
  const Scheduler::CallKey cancelled = scheduler.call_at(10, [&ran, kept] { ran.push_back("cancelled"); });
  scheduler.call_at(10, [&] {
    ran.push_back("function 10");
    // Set from inside a call, due now: it runs in the same round, after the others.
    scheduler.call_at(10, alarm, 2);
  });
  scheduler.call_at(20, alarm, 3);
  scheduler.cancel_call(cancelled);
  clock.advance_to(10);
  scheduler.drain(0);  // fires what is due, runs no task
  CHECK(ran == std::vector<std::string>{"alarm 1", "function 10", "alarm 2"});
  CHECK(kept.use_count() == 1);  // the cancelled function is gone, not kept in its slot
  // The slots of functions that ran or were dropped are used again.
  scheduler.call_at(15, note("function 15"));
  scheduler.call_at(15, note("function 15 too"));
  clock.advance_to(30);
  scheduler.drain(0);
  CHECK(ran == std::vector<std::string>{"alarm 1", "function 10", "alarm 2", "function 15", "function 15 too",
                                        "function 20", "alarm 3"});
  scheduler.call_at(40, note("forgotten"));
  scheduler.call_at(40, alarm, 4);
  scheduler.forget_calls();
  clock.advance_to(40);
  scheduler.drain(0);
  CHECK(ran.size() == 7);
}

TEST_CASE("scheduler: Policy::random and Policy::pct with the same seed give the same run",
          "[scheduler]") {
  for (const Policy policy : {Policy::random, Policy::pct}) {
    for (std::uint64_t seed : {1ULL, 2ULL, 99ULL}) {
      INFO("seed " << seed << ", pct " << (policy == Policy::pct));
      const Config config{.seed = seed, .policy = policy, .pct = {.depth = 3, .horizon = 12}};
      Simulation a(config);
      Simulation b(config);
      run_racy(a);
      run_racy(b);
      CHECK(a.transcript() == b.transcript());
      CHECK(a.trace().to_jsonl() == b.trace().to_jsonl());
    }
  }
}

// How many times the racy threads' lines change hands ("a0 a1 b0 b1 a2..." twice).
int hand_overs(const std::string& transcript) {
  int changes = 0;
  char last = 0;
  for (std::size_t at = 0; (at = transcript.find("racy: ", at)) != std::string::npos; at += 6) {
    const char who = transcript[at + 6];
    if (last != 0 && who != last) ++changes;
    last = who;
  }
  return changes;
}

TEST_CASE("scheduler: Policy::pct changes the order only at its d-1 change points", "[scheduler]") {
  // Depth 1: no change point, so the thread of higher priority prints all its lines
  // first. Depth 2: one change point, where the running thread drops below the other:
  // at most two hand-overs (a a b b b b b a a a). Both orders, and a run that changes
  // hands in the middle, show up across the seeds.
  for (const int depth : {1, 2}) {
    std::set<std::string> seen;
    std::set<int> changes;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
      const std::string t = racy_transcript(
          Config{.seed = seed, .policy = Policy::pct, .pct = {.depth = depth, .horizon = 12}});
      INFO("depth " << depth << ", seed " << seed << ":\n" << t);
      CHECK(hand_overs(t) <= depth);
      seen.insert(t);
      changes.insert(hand_overs(t));
    }
    CHECK(seen.size() >= 2);
    if (depth == 2) CHECK(changes.count(2) == 1);
  }
}

TEST_CASE("scheduler: Policy::random explores several interleavings across seeds",
          "[scheduler]") {
  std::set<std::string> seen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const std::string t = racy_transcript(Config{.seed = seed, .policy = Policy::random});
    INFO("seed " << seed << ":\n" << t);
    // Every line is there, and each thread's lines stay in its own order.
    for (const std::string name : {"a", "b"}) {
      std::size_t previous = 0;
      for (int i = 0; i < 5; ++i) {
        const std::size_t at = line_at(t, "racy: " + name + std::to_string(i));
        REQUIRE(at != std::string::npos);
        CHECK(at >= previous);
        previous = at;
      }
    }
    seen.insert(t);
  }
  CHECK(seen.size() >= 2);
}

// The ephemeral port a UDP socket gets from the seed, next to run_racy's threads.
std::pair<std::string, std::uint16_t> racy_with_port(Config config) {
  Simulation sim(config);
  std::uint16_t port = 0;
  sim.spawn("porter", [&port](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, loopback(0));
    port = sys.getsockname(fd).port;
  });
  run_racy(sim);
  return {sim.transcript(), port};
}

TEST_CASE("scheduler: schedule_seed varies the interleaving and nothing else", "[scheduler]") {
  std::set<std::string> interleavings;
  std::set<std::uint16_t> ports;
  for (std::uint64_t schedule = 1; schedule <= 20; ++schedule) {
    const Config config{.seed = 7, .policy = Policy::random, .schedule_seed = schedule};
    const auto [transcript, port] = racy_with_port(config);
    INFO("schedule seed " << schedule << ":\n" << transcript);
    CHECK(racy_with_port(config) == std::make_pair(transcript, port));
    interleavings.insert(transcript);
    ports.insert(port);
  }
  CHECK(interleavings.size() >= 2);
  CHECK(ports.size() == 1);
  // The data seed still moves the port: the schedule seed took nothing from it.
  CHECK(racy_with_port(Config{.seed = 8, .policy = Policy::random, .schedule_seed = 1}).second !=
        *ports.begin());
}

TEST_CASE("scheduler: Policy::run_until_block gives one interleaving for every seed",
          "[scheduler]") {
  std::set<std::string> seen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    seen.insert(racy_transcript(Config{.seed = seed}));
  REQUIRE(seen.size() == 1);
  // Each thread runs until it blocks (here: until it ends), in the order started.
  CHECK(*seen.begin() ==
        "racy: a0\nracy: a1\nracy: a2\nracy: a3\nracy: a4\n"
        "racy: b0\nracy: b1\nracy: b2\nracy: b3\nracy: b4\n");
}

TEST_CASE("scheduler: spawn_thread runs a second task in the same process", "[scheduler]") {
  Simulation sim;
  std::string got;
  int thread_id = 0, main_id = 0;
  sim.spawn("app", [&](Sys& sys) {
    main_id = sys.task().id();
    const int rx = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(rx, loopback(7000));
    const int tx = sys.socket(AF_INET, SOCK_DGRAM);
    // The thread uses the process's descriptor table: tx is valid there too.
    thread_id = sys.spawn_thread("helper", [tx](Sys& s) {
      s.sendto(tx, "from helper", loopback(7000));
      s.print("helper done");
    });
    got = sys.recv(rx, 100);  // blocks until the helper has run
    sys.print("main done");
  });
  run_checked(sim);
  CHECK(got == "from helper");
  CHECK(thread_id != main_id);
  CHECK(sim.transcript() == "app: helper done\napp: main done\n");
  std::vector<std::pair<int, int>> outputs;  // (pid, task)
  for (const Event& e : events_of(sim, EventKind::output)) outputs.emplace_back(e.pid, e.task);
  CHECK(outputs == std::vector<std::pair<int, int>>{{kFirstPid, thread_id}, {kFirstPid, main_id}});
}

TEST_CASE("scheduler: a thread is stopped when its process's main task returns",
          "[scheduler]") {
  Simulation sim;
  bool thread_unwound = false;
  bool thread_finished = false;
  sim.spawn("app", [&](Sys& sys) {
    sys.spawn_thread("worker", [&](Sys& s) {
      Unwound guard{thread_unwound};
      s.sleep(10 * kSecond);
      thread_finished = true;
    });
    sys.sleep(kSecond);
  });
  const RunResult result = run_checked(sim);
  CHECK(result.elapsed == kSecond);
  CHECK(result.exit_status == 0);
  CHECK(thread_unwound);
  CHECK_FALSE(thread_finished);
}

TEST_CASE("scheduler: an uncaught exception goes to stderr and ends the process with 1",
          "[scheduler]") {
  Simulation sim;
  sim.spawn("thrower", [](Sys& sys) {
    sys.print("before");
    throw std::runtime_error("boom");
  });
  sim.spawn("bad-fd", [](Sys& sys) {
    sys.sleep(kSecond);
    sys.recv(42, 10);  // a netsim::Error nobody catches
  });
  const RunResult result = sim.run();
  CHECK(sim.transcript() ==
        "thrower: before\n"
        "thrower: uncaught exception: boom\n"
        "bad-fd: uncaught exception: recv: [Errno 9] Bad file descriptor (EBADF)\n");
  REQUIRE(result.processes.size() == 2);
  CHECK(result.processes[0].status == 1);
  CHECK_FALSE(result.processes[0].killed);
  CHECK(result.processes[1].status == 1);
  CHECK(result.exit_status == 1);
  std::vector<std::int64_t> streams;
  for (const Event& e : events_of(sim, EventKind::output)) streams.push_back(e.value);
  CHECK(streams == std::vector<std::int64_t>{1, 2, 2});
}

TEST_CASE("scheduler: an uncaught exception in a thread ends its whole process",
          "[scheduler]") {
  Simulation sim;
  bool main_went_on = false;
  sim.spawn("app", [&](Sys& sys) {
    sys.spawn_thread("worker", [](Sys&) { throw std::runtime_error("worker failed"); });
    sys.sleep(kSecond);
    main_went_on = true;
  });
  const RunResult result = sim.run();
  CHECK(sim.transcript() == "app: uncaught exception: worker failed\n");
  CHECK(result.exit_status == 1);
  CHECK(result.elapsed == 0);
  CHECK_FALSE(main_went_on);
}

TEST_CASE("scheduler: process exit closes its sockets (peer sees EOF) and frees its ports",
          "[scheduler]") {
  Simulation sim;
  std::string after_exit = "not read";
  int tcp_rebind = -1, udp_rebind = -1;
  int server_pid = 0;
  server_pid = sim.spawn("server", [](Sys& sys) {
    const int listener = listen_on(sys, 9000);
    const int udp = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(udp, loopback(7000));
    sys.accept(listener);
    // Returns without closing anything.
  });
  sim.spawn("client", [&](Sys& sys) {
    const int fd = connect_to(sys, 9000);
    after_exit = sys.recv(fd, 100);  // woken by the server's exit
    tcp_rebind = errno_of([&] { listen_on(sys, 9000); });
    udp_rebind = errno_of([&] {
      const int udp = sys.socket(AF_INET, SOCK_DGRAM);
      sys.bind(udp, loopback(7000));
    });
  });
  const RunResult result = run_checked(sim);
  CHECK(after_exit.empty());
  CHECK(tcp_rebind == 0);
  CHECK(udp_rebind == 0);
  REQUIRE(result.processes.size() == 2);
  CHECK(result.processes[0].status == 0);
  CHECK_FALSE(result.processes[0].killed);
  int server_closes = 0;
  for (const Event& e : events_of(sim, EventKind::close)) server_closes += e.pid == server_pid;
  CHECK(server_closes == 3);  // listener, UDP socket, accepted connection
}

TEST_CASE("scheduler: duplicate process names are made unique", "[scheduler]") {
  Simulation sim;
  auto hello = [](Sys& sys) { sys.print("hi"); };
  const int first = sim.spawn("client", hello);
  const int second = sim.spawn("client", hello);
  const int explicit_two = sim.spawn("worker-2", hello);
  const int worker = sim.spawn("worker", hello);
  const int worker_again = sim.spawn("worker", hello);
  const RunResult result = run_checked(sim);
  CHECK(second == first + 1);
  CHECK(explicit_two == first + 2);
  CHECK(worker == first + 3);
  CHECK(worker_again == first + 4);
  std::vector<std::string> names;
  for (const ProcessResult& p : result.processes) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"client", "client-2", "worker-2", "worker", "worker-3"});
  CHECK(sim.transcript() ==
        "client: hi\nclient-2: hi\nworker-2: hi\nworker: hi\nworker-3: hi\n");
}

TEST_CASE("scheduler: run() twice throws std::logic_error", "[scheduler]") {
  Simulation sim;
  sim.spawn("app", [](Sys& sys) { sys.print("once"); });
  run_checked(sim);
  CHECK_THROWS_AS(sim.run(), std::logic_error);
  CHECK(sim.transcript() == "app: once\n");  // the first run's output is intact
}

TEST_CASE("scheduler: run() with no process throws std::logic_error", "[scheduler]") {
  Simulation sim;
  CHECK_THROWS_AS(sim.run(), std::logic_error);
}

TEST_CASE("scheduler: a non-blocking polling loop still lets time move on", "[scheduler]") {
  Simulation sim;
  std::string got;
  long spins = 0;
  Nanos received_at = -1;
  sim.spawn("sender", [](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.sleep(kSecond);
    sys.sendto(fd, "wake up", loopback(7000));
  });
  sim.spawn("poller", [&](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, loopback(7000));
    sys.set_nonblocking(fd);
    // The kernel call, as a shimmed program makes it: -EAGAIN, not an exception, on
    // each of the million turns of the loop.
    char buf[100];
    long n;
    while ((n = sys.kernel().recvfrom(sys.task(), fd, buf, sizeof buf, 0, nullptr)) == -EAGAIN)
      ++spins;
    if (n > 0) got.assign(buf, static_cast<std::size_t>(n));
    received_at = sys.monotonic();
  });
  run_checked(sim);
  CHECK(got == "wake up");
  CHECK(spins > 0);
  CHECK(received_at >= kSecond);
  CHECK(received_at <= kSecond + kSpinQuantum);
}

TEST_CASE("scheduler: stop() from a task ends the run at its next switch", "[scheduler]") {
  Simulation sim;
  sim.spawn("a", [&](Sys& sys) {
    sys.print("before");
    sim.stop();
    sys.print("still running until it blocks");
    sys.sleep(kSecond);
    sys.print("after");
  });
  sim.spawn("b", [&](Sys& sys) {
    sys.sleep(10 * kSecond);
    sys.print("b woke");
  });
  const RunResult result = sim.run();
  CHECK(sim.transcript() == "a: before\na: still running until it blocks\n");
  CHECK(result.elapsed == 0);
  for (const ProcessResult& p : result.processes) CHECK(p.killed);
}

TEST_CASE("scheduler: interrupt ends a blocked call once, and later blocks block again",
          "[scheduler]") {
  Simulation sim;
  Task* sleeper = nullptr;
  sim.spawn("sleeper", [&](Sys& sys) {
    sleeper = &sys.task();
    try {
      sys.sleep(10 * kSecond);
      sys.print("slept through");
    } catch (const TaskInterrupted&) {
      sys.print("interrupted at " + std::to_string(sys.kernel().clock().elapsed() / kSecond) + " s");
    }
    sys.sleep(2 * kSecond);
    sys.print("slept again until " + std::to_string(sys.kernel().clock().elapsed() / kSecond) + " s");
  });
  sim.spawn("waker", [&](Sys& sys) {
    sys.sleep(kSecond);
    sys.kernel().scheduler().interrupt(*sleeper);
    sys.sleep(5 * kSecond);
  });
  run_checked(sim);
  CHECK(sim.transcript() ==
        "sleeper: interrupted at 1 s\n"
        "sleeper: slept again until 3 s\n");
}

TEST_CASE("scheduler: interrupting a task that is not blocked ends its next block",
          "[scheduler]") {
  Simulation sim;
  sim.spawn("self", [&](Sys& sys) {
    sys.kernel().scheduler().interrupt(sys.task());
    try {
      sys.sleep(kSecond);
      sys.print("slept");
    } catch (const TaskInterrupted&) {
      sys.print("interrupted at " + std::to_string(sys.kernel().clock().elapsed()) + " ns");
    }
  });
  run_checked(sim);
  CHECK(sim.transcript() == "self: interrupted at 0 ns\n");
}

TEST_CASE("scheduler: Policy::schedule replays a random or PCT run from the deviations its trace records",
          "[scheduler]") {
  for (const Policy policy : {Policy::random, Policy::pct}) {
    for (std::uint64_t seed : {1ULL, 2ULL, 99ULL}) {
      INFO("seed " << seed << ", pct " << (policy == Policy::pct));
      Simulation explored({.seed = seed, .policy = policy, .pct = {.depth = 3, .horizon = 12}});
      run_racy(explored);
      std::vector<Deviation> deviations;
      for (const Event& event : explored.trace().events())
        if (event.kind == EventKind::schedule) {
          CHECK(event.passed != event.task);
          deviations.push_back({static_cast<std::uint64_t>(event.value), event.task});
        }
      REQUIRE(!deviations.empty());
      for (int replay = 0; replay < 2; ++replay) {
        Simulation again({.seed = seed, .policy = Policy::schedule, .schedule = deviations});
        run_racy(again);
        CHECK(again.transcript() == explored.transcript());
        CHECK(again.trace().to_jsonl() == explored.trace().to_jsonl());
      }
      // Without the deviations: the run of no other choice than run-until-block's.
      Simulation plain({.seed = seed, .policy = Policy::schedule});
      Simulation fifo({.seed = seed});
      run_racy(plain);
      run_racy(fifo);
      CHECK(plain.transcript() == fifo.transcript());
      CHECK(plain.trace().to_jsonl().find(R"("event":"schedule")") == std::string::npos);
    }
  }
}
