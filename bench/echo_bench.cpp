// echo_bench: how fast netsim's fiber tasks talk, next to real loopback TCP.
//
//   echo_bench            the full run (about 10 s on a 2-core machine)
//   echo_bench --quick    smaller counts, for smoke runs
//   echo_bench --network  the cost of the network model (scenario.hpp) instead:
//                         sim_echo_rtt_per_sec plain, with 1 ms of latency on the
//                         loopback (_latency), and with a scenario of 10 faults that
//                         are checked on the echo's calls but leave it intact (_faults)
//
// Prints one "name value" line per figure on stdout (details go to stderr):
//
//   sim_echo_rtt_per_sec          echo round trips per wall-clock second between two
//                                 fiber tasks over the virtual network, trace payload off
//   sim_echo_rtt_per_sec_traced   the same with the default trace (payload bytes kept)
//   loopback_echo_rtt_per_sec     the same echo over real 127.0.0.1 TCP between two
//                                 std::threads, blocking sockets, TCP_NODELAY
//   loopback_echo_rtt_per_sec_one_cpu   the same with both threads pinned to one CPU
//   loopback_echo_rtt_per_sec_two_cpus  the same with the threads pinned to two CPUs
//                                 (for context: left alone, Linux may run the two
//                                 threads on one CPU or on two, and the rate differs
//                                 by a factor of about three between the two)
//   task_switches_per_sec         switches from one fiber task to another (see below)
//   fiber_vs_loopback_rtt_ratio   sim_echo_rtt_per_sec / the best of the loopback
//                                 figures (placed by Linux, on one CPU, on two CPUs):
//                                 against the fastest the real thing can be placed
//
// Every figure is the best of three repetitions. Wall time comes from
// std::chrono::steady_clock, read only here, outside the simulation. Every echo is
// checked byte for byte; a wrong or missing byte makes the program exit with 1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "netsim/scenario.hpp"
#include "netsim/simulation.hpp"

namespace {

using netsim::Address;
using netsim::Ip;
using netsim::Sys;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMessageSize = 64;
constexpr int kRepetitions = 3;
const Address kSimServer{Ip::v4(127, 0, 0, 1), 10000};

struct Counts {
  long sim_round_trips;         // per repetition, trace payload off
  long sim_traced_round_trips;  // per repetition, payload kept (memory grows with it)
  long loopback_round_trips;    // per repetition
  long task_yields;             // yields of the second task, per repetition
};

// Sized so that each repetition takes roughly 0.2-0.7 s on a small 2-core machine.
// The trace keeps every event in memory, payload or not: four send/recv events of
// about 170 bytes per round trip (plus 4 x 64 payload bytes when traced), so the
// simulated runs peak at a few hundred MB.
// Both simulated runs use the same count: how fast the trace grows depends on how big
// it already is (a vector past glibc's mmap threshold takes fresh, zeroed pages).
constexpr Counts kFull{300'000, 300'000, 40'000, 2'000'000};
constexpr Counts kQuick{30'000, 30'000, 3'000, 100'000};

// One repetition: how long it took, and whether the data checked out.
struct Sample {
  double seconds = 0;
  bool ok = false;
  std::string problem;  // why not ok
};

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Message i of an echo run: a fixed pattern with i in its first eight bytes, so every
// message differs from the one before and an echo of the wrong message (or a stale
// buffer) cannot pass the check. Cheap, so that the benchmark measures the echo.
std::string make_pattern() {
  std::string pattern(kMessageSize, '\0');
  for (std::size_t j = 0; j < pattern.size(); ++j) pattern[j] = static_cast<char>('a' + j % 26);
  return pattern;
}

void stamp_message(std::string& message, long i) {
  static_assert(kMessageSize >= sizeof i);
  std::memcpy(message.data(), &i, sizeof i);
}

// --- 1. echo between two fiber tasks on the virtual network ---

Sample sim_echo(long round_trips, bool trace_payload, const netsim::Scenario& scenario = {}) {
  long server_bytes = 0;
  long client_bytes = 0;
  long mismatches = 0;
  Sample sample;
  const Clock::time_point start = Clock::now();
  // Timed: constructing the simulation, spawning both processes and run(); the
  // checks below and the simulation's teardown (freeing the trace) are not.
  netsim::Simulation sim(netsim::Config{.trace_payload = trace_payload});
  sim.apply(scenario);
  // Both sides read into fixed buffers, as the loopback echo below does.
  sim.spawn("server", [&server_bytes](Sys& sys) {
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(listener, kSimServer);
    sys.listen(listener, 1);
    const int conn = sys.accept(listener);
    char buffer[kMessageSize];
    for (;;) {
      const std::size_t n = sys.recv_into(conn, buffer);
      if (n == 0) break;
      server_bytes += static_cast<long>(n);
      sys.send(conn, std::string_view(buffer, n));
    }
    sys.close(conn);
  });
  sim.spawn("client", [&, round_trips](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, kSimServer);
    std::string message = make_pattern();
    char reply[kMessageSize];
    for (long i = 0; i < round_trips; ++i) {
      stamp_message(message, i);
      sys.send(fd, message);
      // A stream may deliver the echo in pieces: read until all of it is back.
      std::size_t got = 0;
      while (got < kMessageSize) {
        const std::size_t n = sys.recv_into(fd, std::span<char>(reply + got, kMessageSize - got));
        if (n == 0) break;
        got += n;
      }
      client_bytes += static_cast<long>(got);
      if (std::string_view(reply, got) != message) ++mismatches;
    }
    sys.close(fd);
  });
  netsim::RunResult result;
  try {
    result = sim.run();
  } catch (const netsim::DeadlockError& e) {
    sample.problem = fmt::format("the simulation deadlocked:\n{}", e.what());
    return sample;
  }
  sample.seconds = since(start);

  const long expected = round_trips * static_cast<long>(kMessageSize);
  if (result.exit_status != 0) {
    sample.problem = fmt::format("the client exited with status {}; transcript:\n{}",
                                 result.exit_status, sim.transcript());
  } else if (client_bytes != expected || server_bytes != expected || mismatches) {
    sample.problem = fmt::format(
        "expected {} bytes each way; the server echoed {}, the client got {} back, "
        "{} replies differed from their message",
        expected, server_bytes, client_bytes, mismatches);
  } else {
    // The trace saw the same traffic: every byte sent and received twice over.
    long sent = 0;
    long received = 0;
    long payload = 0;
    for (const netsim::Event& event : sim.trace().events()) {
      const bool traffic = event.kind == netsim::EventKind::send || event.kind == netsim::EventKind::recv;
      if (event.kind == netsim::EventKind::send) sent += event.value;
      if (event.kind == netsim::EventKind::recv) received += event.value;
      if (traffic) payload += static_cast<long>(event.data.size());
    }
    const long expected_payload = trace_payload ? 4 * expected : 0;
    if (sent != 2 * expected || received != 2 * expected || payload != expected_payload) {
      sample.problem = fmt::format(
          "the trace disagrees: {} bytes sent, {} received, {} payload bytes kept "
          "(expected {}, {}, {})",
          sent, received, payload, 2 * expected, 2 * expected, expected_payload);
    } else {
      sample.ok = true;
    }
  }
  return sample;
}

// --- 2. the same echo over real loopback TCP between two threads ---

// Reads exactly size bytes; false at end of stream or on error (errno set).
bool read_exactly(int fd, char* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const char* data, std::size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// The CPUs this process may run on.
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  return cpus;
}

// Binds the calling thread to cpu (nothing when cpu < 0); false if that fails.
bool pin_to(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// server_cpu, client_cpu >= 0: that thread runs on that CPU only; -1: anywhere.
Sample loopback_echo(long round_trips, int server_cpu, int client_cpu) {
  Sample sample;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) {
    sample.problem = fmt::format("socket: {}", std::strerror(errno));
    return sample;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // the OS picks a free port
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    sample.problem = fmt::format("listening on 127.0.0.1: {}", std::strerror(errno));
    ::close(listener);
    return sample;
  }

  long server_bytes = 0;
  long client_bytes = 0;
  long mismatches = 0;
  std::string server_error;
  std::string client_error;
  // Timed: both threads from start to join, connection set-up included.
  const Clock::time_point start = Clock::now();
  std::thread server([&] {
    if (!pin_to(server_cpu)) {
      server_error = fmt::format("cannot pin the server thread to CPU {}", server_cpu);
      ::shutdown(listener, SHUT_RDWR);  // the client's connect fails and it stops
      return;
    }
    const int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) {
      server_error = fmt::format("accept: {}", std::strerror(errno));
      ::shutdown(listener, SHUT_RDWR);  // resets a connection still queued
      return;
    }
    set_nodelay(conn);
    char buffer[kMessageSize];
    for (;;) {
      if (!read_exactly(conn, buffer, kMessageSize)) {
        if (errno) server_error = fmt::format("server recv: {}", std::strerror(errno));
        break;  // end of stream: the client is done
      }
      server_bytes += static_cast<long>(kMessageSize);
      if (!write_all(conn, buffer, kMessageSize)) {
        server_error = fmt::format("server send: {}", std::strerror(errno));
        break;
      }
    }
    ::close(conn);
  });
  std::thread client([&] {
    if (!pin_to(client_cpu)) {
      client_error = fmt::format("cannot pin the client thread to CPU {}", client_cpu);
      ::shutdown(listener, SHUT_RDWR);  // wakes the server out of accept()
      return;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      client_error = fmt::format("connect: {}", std::strerror(errno));
      if (fd >= 0) ::close(fd);
      // Wake the server out of accept().
      ::shutdown(listener, SHUT_RDWR);
      return;
    }
    set_nodelay(fd);
    std::string message = make_pattern();
    char reply[kMessageSize];
    for (long i = 0; i < round_trips; ++i) {
      stamp_message(message, i);
      if (!write_all(fd, message.data(), kMessageSize)) {
        client_error = fmt::format("client send: {}", std::strerror(errno));
        break;
      }
      if (!read_exactly(fd, reply, kMessageSize)) {
        client_error = errno ? fmt::format("client recv: {}", std::strerror(errno))
                             : std::string("the server closed the connection early");
        break;
      }
      client_bytes += static_cast<long>(kMessageSize);
      if (std::memcmp(reply, message.data(), kMessageSize) != 0) ++mismatches;
    }
    ::close(fd);
  });
  client.join();
  server.join();
  sample.seconds = since(start);
  ::close(listener);

  const long expected = round_trips * static_cast<long>(kMessageSize);
  if (!client_error.empty() || !server_error.empty()) {
    sample.problem = client_error.empty() ? server_error : client_error;
  } else if (client_bytes != expected || server_bytes != expected || mismatches) {
    sample.problem = fmt::format(
        "expected {} bytes each way; the server echoed {}, the client got {} back, "
        "{} replies differed from their message",
        expected, server_bytes, client_bytes, mismatches);
  } else {
    sample.ok = true;
  }
  return sample;
}

// --- 3. switches between fiber tasks ---
//
// Two processes, "a" and "b", each call poll() on no descriptors with a zero timeout
// in a loop: the smallest kernel call that is a scheduling point. Finding nothing to
// do, the call lets the other ready task run first (Scheduler::spin), so control goes
// a -> scheduler -> b -> scheduler -> a ... Counted: each time a task returns from
// poll() and the task that ran before it was the other one, i.e. each hand-over of
// control from one task to the other. One hand-over is two Boost.Context jumps (task
// to scheduler, scheduler to the next task) plus one pass through the scheduler loop
// and one trivial kernel call; no trace events are recorded. "b" makes `yields`
// calls and exits, which ends the run; "a" loops until the run stops it.
struct SwitchSample {
  Sample sample;
  long switches = 0;
};

SwitchSample task_switches(long yields) {
  SwitchSample out;
  long switches = 0;
  long calls = 0;
  int last = -1;  // which task returned from poll() last
  auto count = [&](int me) {
    ++calls;
    if (last != me) ++switches;
    last = me;
  };
  const Clock::time_point start = Clock::now();
  netsim::Simulation sim(netsim::Config{.trace_payload = false});
  sim.spawn("a", [&](Sys& sys) {
    for (;;) {
      sys.poll({}, 0);
      count(0);
    }
  });
  sim.spawn("b", [&, yields](Sys& sys) {
    for (long i = 0; i < yields; ++i) {
      sys.poll({}, 0);
      count(1);
    }
  });
  netsim::RunResult result;
  try {
    result = sim.run();
  } catch (const netsim::DeadlockError& e) {
    out.sample.problem = fmt::format("the simulation deadlocked:\n{}", e.what());
    return out;
  }
  out.sample.seconds = since(start);
  out.switches = switches;
  // Once both run they must strictly alternate: each of b's calls comes right after
  // one of a's and the other way round, about 2 x yields hand-overs in all. (Before
  // b starts, a's first polls may resume a itself: those are not counted.)
  if (result.exit_status != 0) {
    out.sample.problem = fmt::format("task b exited with status {}; transcript:\n{}",
                                     result.exit_status, sim.transcript());
  } else if (switches < 2 * yields - 2) {
    out.sample.problem =
        fmt::format("{} poll() calls returned, {} of them right after the other task's; "
                    "expected at least {} such hand-overs",
                    calls, switches, 2 * yields - 2);
  } else {
    out.sample.ok = true;
  }
  return out;
}

// --- 4. the network model: latency, and faults that match every call ---

netsim::Scenario latency_scenario() {
  netsim::Scenario scenario;
  scenario.defaults.delay = netsim::kMillisecond;
  return scenario;
}

// Ten faults, each of a different kind, that the kernel checks on the echo's
// connection and calls but that never change it: connection faults on a port nobody
// uses (a slice would change the echo's calls: its pieces are drawn from 1 byte up),
// an EINTR for a program nobody runs, network faults between two hosts without
// programs.
netsim::Scenario faults_scenario() {
  using netsim::Fault;
  using netsim::FaultKind;
  netsim::Scenario scenario;
  scenario.hosts = {{.name = "a"}, {.name = "b"}};
  const auto timed = [](FaultKind kind, netsim::Nanos at) {
    Fault fault;
    fault.kind = kind;
    fault.when.at = at;
    fault.hosts = {"a"};
    fault.peers = {"b"};
    fault.duration = netsim::kSecond;
    return fault;
  };
  const auto matched = [](FaultKind kind, std::uint16_t port) {
    Fault fault;
    fault.kind = kind;
    fault.match.port = port;
    fault.size = kMessageSize;
    return fault;
  };
  scenario.faults = {timed(FaultKind::partition, netsim::kSecond), timed(FaultKind::hold, 2 * netsim::kSecond),
                     matched(FaultKind::slice, 9), matched(FaultKind::partial_write, 9),
                     matched(FaultKind::refuse, 9), matched(FaultKind::reset, 9), matched(FaultKind::close, 9),
                     matched(FaultKind::blackhole, 9), matched(FaultKind::eintr, 9)};
  // A call matches by program, not by port: one that no process runs.
  scenario.faults.back().match.process = "nobody";
  Fault jump = timed(FaultKind::clock_jump, 3 * netsim::kSecond);
  jump.peers.clear();
  jump.duration.reset();
  jump.amount = netsim::kSecond;
  scenario.faults.push_back(jump);
  return scenario;
}

// --- driver ---

// Runs one measurement kRepetitions times; returns the best rate (units per second),
// or a negative number after reporting a failed check.
double best_rate(const std::string& name, const std::function<Sample(long*)>& measure) {
  double best = 0;
  for (int rep = 1; rep <= kRepetitions; ++rep) {
    long units = 0;
    const Sample sample = measure(&units);
    if (!sample.ok) {
      std::cerr << "echo_bench: " << name << ": check failed: " << sample.problem << "\n";
      return -1;
    }
    const double rate = static_cast<double>(units) / sample.seconds;
    std::cerr << fmt::format("# {} rep {}: {} in {:.3f} s = {:.0f}/s\n", name, rep, units,
                             sample.seconds, rate);
    best = std::max(best, rate);
  }
  return best;
}

int usage_error(const std::string& message) {
  std::cerr << "echo_bench: " << message << "\n"
            << "usage: echo_bench [--quick] [--network]\n"
            << "try 'echo_bench --help' for more\n";
  return 2;
}

constexpr std::string_view kHelp = R"(usage: echo_bench [--quick] [--network]

Measures how fast netsim's fiber tasks exchange messages and prints one
"name value" line per figure on stdout (progress and details go to stderr):

  sim_echo_rtt_per_sec          64-byte echo round trips per second between two
                                fiber tasks on the virtual network (trace payload off)
  sim_echo_rtt_per_sec_traced   the same with the default trace (payload kept)
  loopback_echo_rtt_per_sec     the same echo over real 127.0.0.1 TCP between two
                                threads (blocking sockets, TCP_NODELAY)
  loopback_echo_rtt_per_sec_one_cpu
                                the same with both threads pinned to one CPU
  loopback_echo_rtt_per_sec_two_cpus
                                the same with the threads pinned to two CPUs
  task_switches_per_sec         hand-overs of control between two fiber tasks
  fiber_vs_loopback_rtt_ratio   sim_echo_rtt_per_sec / the best loopback figure
                                of the three placements

Each figure is the best of 3 repetitions; every echoed byte is checked, and a
failed check ends the program with status 1.

With --network, the cost of the network model instead (scenario.hpp):

  sim_echo_rtt_per_sec          as above
  sim_echo_rtt_per_sec_latency  the same with 1 ms of one-way latency on every link
  sim_echo_rtt_per_sec_faults   the same with a scenario of 10 faults that match
                                the echo's calls without changing them
  latency_vs_plain_ratio, faults_vs_plain_ratio
                                each / sim_echo_rtt_per_sec (target: at least 0.8)

options:
  --quick       smaller counts (well under a second in all), for smoke runs
  --network     the network model's figures
  -h, --help    show this help
)";

}  // namespace

int main(int argc, char** argv) {
  Counts counts = kFull;
  bool network = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kHelp;
      return 0;
    }
    if (arg == "--quick") {
      counts = kQuick;
      continue;
    }
    if (arg == "--network") {
      network = true;
      continue;
    }
    return usage_error(fmt::format("unknown argument '{}'", arg));
  }

  const auto sim_echo_of = [](long n, bool payload, netsim::Scenario scenario = {}) {
    return [n, payload, scenario](long* units) {
      *units = n;
      return sim_echo(n, payload, scenario);
    };
  };
  const double sim = best_rate("sim_echo_rtt_per_sec", sim_echo_of(counts.sim_round_trips, false));
  if (sim < 0) return 1;
  std::cout << fmt::format("sim_echo_rtt_per_sec {:.0f}", sim) << std::endl;

  if (network) {
    const double latency = best_rate("sim_echo_rtt_per_sec_latency",
                                     sim_echo_of(counts.sim_round_trips, false, latency_scenario()));
    if (latency < 0) return 1;
    std::cout << fmt::format("sim_echo_rtt_per_sec_latency {:.0f}", latency) << std::endl;
    const double faults = best_rate("sim_echo_rtt_per_sec_faults",
                                    sim_echo_of(counts.sim_round_trips, false, faults_scenario()));
    if (faults < 0) return 1;
    std::cout << fmt::format("sim_echo_rtt_per_sec_faults {:.0f}", faults) << std::endl;
    std::cout << fmt::format("latency_vs_plain_ratio {:.2f}", latency / sim) << std::endl;
    std::cout << fmt::format("faults_vs_plain_ratio {:.2f}", faults / sim) << std::endl;
    return 0;
  }

  const double traced =
      best_rate("sim_echo_rtt_per_sec_traced", sim_echo_of(counts.sim_traced_round_trips, true));
  if (traced < 0) return 1;
  std::cout << fmt::format("sim_echo_rtt_per_sec_traced {:.0f}", traced) << std::endl;

  const double loopback = best_rate("loopback_echo_rtt_per_sec", [&](long* units) {
    *units = counts.loopback_round_trips;
    return loopback_echo(counts.loopback_round_trips, -1, -1);
  });
  if (loopback < 0) return 1;
  std::cout << fmt::format("loopback_echo_rtt_per_sec {:.0f}", loopback) << std::endl;
  double best_loopback = loopback;

  const std::vector<int> cpus = allowed_cpus();
  if (cpus.empty()) {
    std::cerr << "# cannot read this process's CPU affinity: no pinned loopback figures\n";
  } else {
    const double one_cpu = best_rate("loopback_echo_rtt_per_sec_one_cpu", [&](long* units) {
      *units = counts.loopback_round_trips;
      return loopback_echo(counts.loopback_round_trips, cpus[0], cpus[0]);
    });
    if (one_cpu < 0) return 1;
    std::cout << fmt::format("loopback_echo_rtt_per_sec_one_cpu {:.0f}", one_cpu) << std::endl;
    best_loopback = std::max(best_loopback, one_cpu);
  }
  if (cpus.size() < 2) {
    std::cerr << "# only one CPU available: no loopback_echo_rtt_per_sec_two_cpus\n";
  } else {
    const double two_cpus = best_rate("loopback_echo_rtt_per_sec_two_cpus", [&](long* units) {
      *units = counts.loopback_round_trips;
      return loopback_echo(counts.loopback_round_trips, cpus[0], cpus[1]);
    });
    if (two_cpus < 0) return 1;
    std::cout << fmt::format("loopback_echo_rtt_per_sec_two_cpus {:.0f}", two_cpus) << std::endl;
    best_loopback = std::max(best_loopback, two_cpus);
  }

  const double switches = best_rate("task_switches_per_sec", [&](long* units) {
    SwitchSample s = task_switches(counts.task_yields);
    *units = s.switches;
    return s.sample;
  });
  if (switches < 0) return 1;
  std::cout << fmt::format("task_switches_per_sec {:.0f}", switches) << std::endl;

  std::cout << fmt::format("fiber_vs_loopback_rtt_ratio {:.1f}", sim / best_loopback) << std::endl;
  return 0;
}
