// A program that speaks the shim's channel itself, as a buggy or hostile one could:
// it writes requests into its own slot and posts them, around the shim, to check that
// simrun treats the channel as untrusted input (docs/simrun.md). Run under simrun:
//
//   channel_fuzz poke CASE       sends one crafted request (CASE: see kPokes), then
//                                prints "survived: result R"
//   channel_fuzz poke forked-foreign PID
//                                makes a fork in the simulation, then reports the real
//                                process PID (not its child) as the forked one
//   channel_fuzz fuzz SEED WORKERS REQUESTS
//                                forks WORKERS workers one after another; each sends
//                                REQUESTS/2 to 3*REQUESTS/2 requests from a generator
//                                seeded by SEED and its number, and some end with a
//                                malformed one. The parent checks how each worker ended,
//                                prints a summary and exits 1 if any ended otherwise.
//
// The well-formed requests keep every call from blocking for good (sockets are made
// non-blocking and stay so, receives and sends add MSG_DONTWAIT, waits have a timeout),
// so a worker never wedges the run. Left out, because they change the process's
// structure in ways this program would have to follow through: kCallThreadCreate (the
// simulator would wait for a thread that never starts), kCallFork (for a child that
// never runs), kCallThreadExit and kCallExit (the worker would end), and kill() with a
// real signal (it could stop the parent or another command; only probes and invalid
// signals are sent).
//
// Built by the tests with the system compiler: c++ -std=c++20 -O2 -I shim/include.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netsim/shim/channel.hpp"

using namespace netsim::shim;

namespace {

// The shim's system call instruction: the one the seccomp filter lets through, so the
// futex calls of a round trip reach the real kernel instead of the shim. The shim does
// not export it: it is called at its fixed address (shim/preload/raw_syscall.cpp), as
// a program that knows it could. The call's push stays clear of the red zone.
long g_raw(long nr, long a0, long a1, long a2, long a3, long, long) {
  long ret;
  register long r10 __asm__("r10") = a3;
  __asm__ volatile("sub $128, %%rsp\n\tmovabsq $0x7f0000000000, %%r11\n\tcall *%%r11\n\tadd $128, %%rsp"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}
Region* g_region = nullptr;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "channel_fuzz: %s\n", what);
  std::exit(2);
}

// The calling process's region of the pool, the one the shim mapped (a forked worker
// maps a region of its own), checked by its virtual pid.
Slot& my_slot() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) die("cannot read /proc/self/maps");
  char line[512];
  while (!g_region && std::fgets(line, sizeof line, maps))
    if (std::strstr(line, "netsim-regions")) g_region = reinterpret_cast<Region*>(std::strtoull(line, nullptr, 16));
  std::fclose(maps);
  if (!g_region) die("the shim's region is not mapped: run under simrun");
  if (g_region->magic != kRegionMagic || g_region->pid != getpid()) die("the mapped region is not this process's");
  return g_region->slots[0];
}

// One round trip, as shim/preload/channel.cpp makes it.
long round_trip(Slot& s) {
  post(s.state, SlotState::request,
       [](auto* word) { g_raw(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAKE, 1, 0, 0, 0); });
  sleep_until(
      s.state, [](std::uint32_t state) { return holds(state, SlotState::reply); },
      [&](std::uint32_t expected) {
        g_raw(SYS_futex, reinterpret_cast<long>(&s.state), FUTEX_WAIT, expected, 0, 0, 0);
        return true;
      });
  s.signal = 0;  // a signal the reply carries is not this program's concern
  return s.result;
}

void set(Slot& s, std::int64_t call, std::int64_t a0 = 0, std::int64_t a1 = 0, std::int64_t a2 = 0,
         std::int64_t a3 = 0, std::int64_t a4 = 0, std::int64_t a5 = 0) {
  s.call = call;
  const std::int64_t args[6] = {a0, a1, a2, a3, a4, a5};
  std::memcpy(s.args, args, sizeof args);
  s.size = 0;
}

// splitmix64: the same requests for the same seed, everywhere.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::int64_t below(std::uint64_t n) { return static_cast<std::int64_t>(next() % n); }
  bool chance(unsigned percent) { return next() % 100 < percent; }
  template <typename T, std::size_t N>
  T pick(const T (&options)[N]) {
    return options[next() % N];
  }
};

constexpr std::size_t kUnixRoom = kSlotBuffer - kUnixNameAt;

// ------------------------------------------------------------ well-formed requests

struct Worker {
  Rng rng;
  Slot& s;
  std::vector<int> fds;  // the simulated descriptors it made

  // Mostly one of its own descriptors, else any number (EBADF, or another's).
  std::int64_t fd() { return !fds.empty() && rng.chance(85) ? fds[rng.below(fds.size())] : rng.below(203) - 3; }
  std::int64_t at() { return 150 + rng.below(50); }

  void unix_name(std::size_t n) {
    static const char kNames[][8] = {"fuzz", "\0fuzz", "/tmp/fz"};
    const char* name = kNames[rng.below(3)];
    for (std::size_t i = 0; i < n; ++i)
      s.buffer[kUnixNameAt + i] = i < 7 ? static_cast<unsigned char>(name[i]) : static_cast<unsigned char>(rng.next());
  }

  // An address in args[i..i+2]; `none`: the call may have no address (A0 = 0).
  void address(int i, bool none) {
    std::int64_t* w = &s.args[i];
    switch (rng.below(none ? 5 : 4)) {
      case 0: {
        const std::uint32_t ip = rng.chance(80) ? htonl(INADDR_LOOPBACK) : static_cast<std::uint32_t>(rng.next());
        w[0] = AF_INET | (rng.chance(70) ? 9000 + rng.below(2) : rng.below(65536)) << 16;
        w[1] = ip;
        w[2] = 0;
        break;
      }
      case 1:
        w[0] = AF_INET6 | (9000 + rng.below(3)) << 16;
        w[1] = 0;
        w[2] = rng.chance(70) ? std::int64_t{1} << 56 : static_cast<std::int64_t>(rng.next());  // ::1
        break;
      case 2: {
        const std::size_t n = rng.chance(60) ? rng.below(8) : rng.below(kUnixRoom + 1);
        unix_name(n);
        w[0] = AF_UNIX | static_cast<std::int64_t>(n) << 16;
        w[1] = w[2] = 0;
        break;
      }
      case 3: {
        std::int64_t family = rng.below(65536);
        if (family == AF_UNIX) family = AF_UNSPEC;
        w[0] = family | rng.below(65536) << 16;
        w[1] = static_cast<std::int64_t>(rng.next());
        w[2] = static_cast<std::int64_t>(rng.next());
        break;
      }
      default:
        w[0] = w[1] = w[2] = 0;
    }
  }

  std::size_t payload_size(std::size_t room) {
    return rng.chance(80) ? rng.below(600) : rng.below(room + 1);
  }

  void fill(std::size_t n) {
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t word = rng.next();
      std::memcpy(s.buffer + i, &word, std::min<std::size_t>(8, n - i));
    }
  }

  void well_formed() {
    switch (rng.below(32)) {
      case 0: {
        static const std::int64_t kDomains[] = {AF_INET, AF_INET6, AF_UNIX, 0, 99};
        static const std::int64_t kTypes[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 77};
        static const std::int64_t kProtocols[] = {0, 0, IPPROTO_TCP, IPPROTO_UDP, 99};
        set(s, SYS_socket, rng.pick(kDomains), rng.pick(kTypes) | SOCK_NONBLOCK, rng.pick(kProtocols), at());
        break;
      }
      case 1:
        set(s, SYS_socketpair, AF_UNIX, (rng.chance(50) ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0, at(), at());
        break;
      case 2: set(s, SYS_pipe2, O_NONBLOCK, at(), at()); break;
      case 3:
      case 4:
        set(s, rng.chance(50) ? SYS_bind : SYS_connect, fd());
        address(1, false);
        break;
      case 5: set(s, SYS_listen, fd(), rng.below(300) - 10); break;
      case 6: set(s, SYS_accept4, fd(), SOCK_NONBLOCK, at()); break;
      case 7:
      case 8:
      case 9: {
        static const std::int64_t kFlags[] = {0, MSG_NOSIGNAL, MSG_MORE, MSG_OOB, MSG_CONFIRM};
        set(s, SYS_sendto, fd(), 0, rng.pick(kFlags) | MSG_DONTWAIT);
        address(3, true);
        const bool whole = s.args[3] == 0 || (s.args[3] & 0xffff) == AF_UNIX;
        const std::size_t n = payload_size(whole && s.args[3] ? kUnixNameAt : kSlotBuffer);
        fill(n);
        s.args[1] = static_cast<std::int64_t>(n);
        if (whole) s.args[4] = static_cast<std::int64_t>(n) + (rng.chance(10) ? rng.below(100000) : 0);
        s.size = n;
        break;
      }
      case 10:
      case 11:
      case 12: {
        static const std::int64_t kFlags[] = {0, 0, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_OOB};
        set(s, SYS_recvfrom, fd(), rng.chance(70) ? rng.below(2048) : rng.below(kSlotBuffer + 1),
            rng.pick(kFlags) | MSG_DONTWAIT, rng.below(2), rng.below(2));
        break;
      }
      case 13: set(s, SYS_shutdown, fd(), rng.below(5) - 1); break;
      case 14: set(s, rng.chance(20) ? SYS_close : SYS_dup, fd(), at()); break;
      case 15: set(s, SYS_dup3, fd(), at(), rng.below(2)); break;
      case 16: set(s, rng.chance(50) ? SYS_getsockname : SYS_getpeername, fd()); break;
      case 17: {
        static const std::int64_t kLevels[] = {SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, 999};
        set(s, rng.chance(50) ? SYS_setsockopt : SYS_getsockopt, fd(), rng.pick(kLevels), rng.below(70),
            static_cast<std::int32_t>(rng.next()));
        break;
      }
      case 18: {
        // Non-blocking stays on: F_SETFL and FIONBIO only ever set it.
        static const std::int64_t kCommands[] = {F_GETFL, F_SETFL, F_GETFD, 1234};
        const std::int64_t command = rng.pick(kCommands);
        set(s, SYS_fcntl, fd(), command, command == F_SETFL ? O_NONBLOCK | rng.below(2) * O_APPEND : rng.below(9));
        break;
      }
      case 19: {
        static const std::int64_t kRequests[] = {FIONBIO, FIONREAD, FIONREAD, 0x5401};
        set(s, SYS_ioctl, fd(), rng.pick(kRequests), 1);
        break;
      }
      case 20: {
        const std::size_t n = 1 + rng.below(kUnixRoom);
        unix_name(n);
        set(s, SYS_unlink, static_cast<std::int64_t>(n));
        break;
      }
      case 21:
      case 22: {
        const std::size_t n = rng.below(17);
        set(s, SYS_poll, static_cast<std::int64_t>(n), rng.chance(70) ? 0 : rng.below(1'000'000));
        for (std::size_t i = 0; i < n; ++i) {
          const pollfd entry{static_cast<int>(fd()), static_cast<short>(rng.next()), 0};
          std::memcpy(s.buffer + i * sizeof entry, &entry, sizeof entry);
        }
        s.size = n * sizeof(pollfd);
        break;
      }
      case 23: {
        // Never to stdout or stderr: the transcript keeps only what the programs meant.
        static const std::int64_t kStreams[] = {-1, 0, 3, 7, 100, 150};
        set(s, SYS_write, rng.pick(kStreams));
        s.size = payload_size(kSlotBuffer);
        break;
      }
      case 24: set(s, SYS_nanosleep, rng.below(2'000'000)); break;
      case 25:
        if (rng.chance(50))
          set(s, SYS_futex, 0x10000 + rng.below(64) * 4, FUTEX_WAKE, rng.below(5), 0, rng.below(2));
        else
          set(s, SYS_futex, 0x10000 + rng.below(64) * 4, FUTEX_WAIT, rng.below(1'000'000), rng.below(2));
        break;
      case 26: {
        static const std::int64_t kSignals[] = {0, 0, -1, 65, 1000};
        static const std::int64_t kCalls[] = {SYS_wait4, SYS_kill, SYS_setpgid, SYS_getpgid, SYS_setsid, SYS_getsid};
        const std::int64_t call = rng.pick(kCalls);
        set(s, call, rng.below(2200) - 1100, call == SYS_kill ? rng.pick(kSignals) : rng.below(2000));
        if (call == SYS_wait4) s.args[1] = 1;  // WNOHANG
        break;
      }
      case 27: set(s, SYS_eventfd2, static_cast<std::uint32_t>(rng.next()), EFD_NONBLOCK | rng.below(2) * EFD_SEMAPHORE, at()); break;
      case 28: {
        static const std::int64_t kCalls[] = {kCallStart, kCallExec, kCallThreadAbandon, kCallForked};
        const std::int64_t call = rng.pick(kCalls);
        set(s, call, call == kCallThreadAbandon ? 1 + rng.below(kMaxThreads - 1) : rng.below(kMaxProcesses),
            rng.below(100000));
        break;
      }
      case 29: {
        static const char* const kNames[] = {"localhost", "LocalHost", "nosuch.example", "127.0.0.1", "::1", ""};
        const char* name = rng.pick(kNames);
        set(s, kCallResolve);
        s.size = std::strlen(name) + 1;
        std::memcpy(s.buffer, name, s.size);
        break;
      }
      case 30:
        set(s, kCallReverseResolve, rng.chance(50) ? 4 : 6);
        fill(16);
        if (rng.chance(50)) s.buffer[0] = 127;
        s.size = 16;
        break;
      default: {
        // Rare: each prints a line on the worker's stderr.
        if (!rng.chance(3)) return well_formed();
        static const char kText[] = "channel_fuzz: an unsupported call";
        set(s, kCallUnsupported);
        std::memcpy(s.buffer, kText, sizeof kText);
        s.size = sizeof kText;
      }
    }
  }

  // ------------------------------------------------------------ malformed requests

  // One request no honest shim sends; the simulator must stop the worker.
  void malformed() {
    switch (rng.below(12)) {
      case 0: {
        static const std::int64_t kUnknown[] = {0, 2, 9, 56, 57, 59, 60, 231, 300, kCallExec + 1, kCallStart - 1,
                                                -1, std::int64_t{1} << 40};
        set(s, rng.pick(kUnknown));
        break;
      }
      case 1: {
        static const std::int64_t kCalls[] = {SYS_write, SYS_sendto, SYS_poll, kCallResolve, kCallUnsupported,
                                              SYS_close, SYS_recvfrom, SYS_futex};
        const std::uint64_t size = rng.chance(50) ? kSlotBuffer + 1 + rng.below(1 << 20) : rng.next() | 1ULL << 63;
        set(s, rng.pick(kCalls), 1, static_cast<std::int64_t>(size));
        s.size = size;
        break;
      }
      case 2:
        set(s, SYS_poll, rng.chance(50) ? kSlotBuffer / sizeof(pollfd) + 1 + rng.below(1000) : -1);
        break;
      case 3: {
        const std::int64_t n = 1 + rng.below(100);
        set(s, SYS_poll, n);
        s.size = n * sizeof(pollfd) + 1 + rng.below(8);
        break;
      }
      case 4: set(s, SYS_recvfrom, fd(), rng.chance(50) ? kSlotBuffer + 1 + rng.below(1 << 30) : -1 - rng.below(9)); break;
      case 5: {
        const std::int64_t n = rng.below(100);
        set(s, SYS_sendto, fd(), n + 1 + rng.below(100), MSG_DONTWAIT);
        s.size = static_cast<std::uint64_t>(n);
        break;
      }
      case 6: {
        const std::int64_t n = kUnixRoom + 1 + rng.below(1000);
        if (rng.chance(50)) set(s, SYS_bind, fd(), AF_UNIX | n << 16);
        else set(s, SYS_unlink, rng.chance(50) ? 0 : n);
        break;
      }
      case 7: {
        set(s, rng.chance(50) ? kCallResolve : kCallUnsupported);
        s.size = rng.below(100);
        std::memset(s.buffer, 'a', s.size);
        break;
      }
      case 8:
        set(s, kCallReverseResolve, rng.chance(50) ? 5 : 4);
        s.size = s.args[0] == 4 ? 3 : 16;
        break;
      case 9:
        if (rng.chance(50)) set(s, kCallThreadAbandon, rng.chance(50) ? 0 : kMaxThreads + rng.below(100));
        else set(s, kCallForked, rng.chance(50) ? -1 : kMaxProcesses + rng.below(100), 1);
        break;
      case 10: set(s, SYS_futex, 0x10000, FUTEX_REQUEUE + rng.below(10), 1); break;
      default: set(s, SYS_close, std::int64_t{1} << 33 | rng.below(1000)); break;
    }
  }
};

std::vector<int> open_sockets() {
  std::vector<int> fds;
  auto keep = [&](int fd) {
    if (fd >= 0) fds.push_back(fd);
    return fd;
  };
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(9000);
  bind(keep(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)), reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int listener = keep(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  address.sin_port = htons(9001);
  bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
  listen(listener, 8);
  connect(keep(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)), reinterpret_cast<sockaddr*>(&address),
          sizeof address);
  keep(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK));
  int pair[2];
  for (const int type : {SOCK_DGRAM, SOCK_STREAM})
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, pair) == 0) fds.insert(fds.end(), {pair[0], pair[1]});
  if (pipe2(pair, O_NONBLOCK) == 0) fds.insert(fds.end(), {pair[0], pair[1]});
  keep(eventfd(0, EFD_NONBLOCK));
  return fds;
}

[[noreturn]] void run_worker(int number, Rng rng, long count, bool bad) {
  Worker worker{rng, my_slot(), open_sockets()};
  for (long i = 0; i < count; ++i) {
    worker.well_formed();
    round_trip(worker.s);
  }
  if (bad) {
    // Announced first, so that the test can match the simulator's line to it; printf
    // uses the slot too, so the request is made again from the same generator state.
    const Rng before = worker.rng;
    worker.malformed();
    std::printf("worker %d sends call %lld, size %llu\n", number, static_cast<long long>(worker.s.call),
                static_cast<unsigned long long>(worker.s.size));
    worker.rng = before;
    worker.malformed();
    round_trip(worker.s);
    std::printf("worker %d survived a malformed request\n", number);
    std::_Exit(3);
  }
  std::_Exit(0);
}

int fuzz(std::uint64_t seed, int workers, long requests) {
  long sent = 0;
  int bad_workers = 0;
  int failures = 0;
  for (int worker = 0; worker < workers; ++worker) {
    Rng rng{seed * 1000003 + static_cast<std::uint64_t>(worker)};
    const long count = requests / 2 + rng.below(static_cast<std::uint64_t>(requests) + 1);
    const bool bad = rng.chance(40);
    const pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) run_worker(worker, rng, count, bad);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) die("waitpid failed");
    const bool as_expected = bad ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
                                 : WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!as_expected) {
      std::printf("worker %d ended with status %d, not as expected\n", worker, status);
      ++failures;
    }
    sent += count + bad;
    bad_workers += bad;
  }
  std::printf("fuzz: %d workers, %ld requests, %d malformed, %d failures\n", workers, sent, bad_workers, failures);
  return failures ? 1 : 0;
}

// The cases of `poke`: one request each, malformed but for "valid".
struct Poke {
  const char* name;
  void (*make)(Slot&);
};

const Poke kPokes[] = {
    {"valid", [](Slot& s) { set(s, SYS_getpgid, 0); }},
    {"write-size", [](Slot& s) { set(s, SYS_write, 1); s.size = 1 << 20; }},
    {"sendto-size", [](Slot& s) { set(s, SYS_sendto, 100, 1 << 20); s.size = 1 << 20; }},
    {"poll-size", [](Slot& s) { set(s, SYS_poll, 1); s.size = 1 << 20; }},
    {"recvfrom-size", [](Slot& s) { set(s, SYS_recvfrom, 100, std::int64_t{1} << 40); }},
    {"unsupported-size", [](Slot& s) { set(s, kCallUnsupported); s.size = std::uint64_t{1} << 62; }},
    {"unknown-call", [](Slot& s) { set(s, 9999); }},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "fuzz") == 0)
    return fuzz(std::strtoull(argv[2], nullptr, 10), std::atoi(argv[3]), std::strtol(argv[4], nullptr, 10));
  if (argc == 4 && std::strcmp(argv[1], "poke") == 0 && std::strcmp(argv[2], "forked-foreign") == 0) {
    // A fork the simulator makes, then a real pid for it that is no child of ours.
    Slot& s = my_slot();
    set(s, kCallFork);
    const long index = round_trip(s);
    set(s, kCallForked, index, std::atol(argv[3]));
    std::printf("survived: result %ld\n", round_trip(s));
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "poke") == 0) {
    for (const Poke& poke : kPokes) {
      if (std::strcmp(argv[2], poke.name) != 0) continue;
      Slot& s = my_slot();
      poke.make(s);
      const long result = round_trip(s);
      std::printf("survived: result %ld\n", result);
      return 0;
    }
  }
  std::fprintf(stderr, "usage: channel_fuzz fuzz SEED WORKERS REQUESTS | channel_fuzz poke CASE [PID]\n");
  return 2;
}
