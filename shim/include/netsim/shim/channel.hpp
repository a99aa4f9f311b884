#pragma once
// The channel between a shimmed process and the simulator (simrun), shared by both
// sides. One shared-memory pool per run (a memfd every process inherits, its number in
// NETSIM_SHIM_FD) holds a region per process (its index in NETSIM_SHIM_REGION), each
// at region_offset(index); a process maps its own region only (a forked child maps
// its own and drops its parent's). In a region, one slot per simulated thread. The
// pool grows by a region when a run needs one more than ever before, and its memory
// is what the processes touch: a region is mostly address space, a slot is paid for
// when its thread first calls, a buffer's pages when a call fills them. A call is one
// round trip:
// the thread fills its slot and sets `state` to request, the simulator serves it and
// sets `state` to reply; each side futex-waits on `state`. No allocation, no copy but
// the payload into the slot's buffer.
//
// Calls are numbered as Linux x86-64 system calls, plus the Call values below. Raw
// arguments travel in `args`; memory an argument points to travels in `buffer` (what
// each call puts there, both ways: protocol.hpp).
#include <sys/utsname.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace netsim::shim {

inline constexpr std::uint32_t kRegionMagic = 0x6d69736e;  // "nsim"
inline constexpr std::uint32_t kRegionVersion = 9;
inline constexpr const char* kRegionFdEnv = "NETSIM_SHIM_FD";
inline constexpr const char* kRegionIndexEnv = "NETSIM_SHIM_REGION";

// Processes a run may have alive at once (a region each): Linux's default pid_max.
inline constexpr int kMaxProcesses = 32768;
// Threads a process may have alive at once. Linux's own limit is memory (threads-max,
// RLIMIT_NPROC: tens of thousands on a default system); this one bounds a region's
// address space (about 540 MB, see kRegionStride), which costs no memory.
inline constexpr int kMaxThreads = 8192;
// Payload room per call; larger sends and receives are split by the shim.
inline constexpr std::size_t kSlotBuffer = 64 * 1024;
// A Unix socket's name (sun_path's bytes, at most 108) travels at the end of the
// buffer, after any payload: sends and receives that carry one leave it this room.
inline constexpr std::size_t kUnixNameAt = kSlotBuffer - 108;
// Descriptor numbers. A program's descriptors, its real files and its simulated
// objects alike (a simulated one is a real placeholder on /dev/null), take the lowest
// free number, as on Linux: a first socket is 3. So the seccomp filter cannot tell
// them apart by number: it traps calls on every descriptor below kLoaderFds and from
// kShimFds up, and the shim serves or makes them. Numbers in between run freely:
// there the loader of an exec'ed image, before the shim is loaded into it, opens its
// libraries (exec first fills the free numbers below kLoaderFds with placeholders,
// the plugs, which the new image's shim closes). A simulated descriptor never takes a
// number in that window; the shim's own (the pool) sit from kShimFds up.
inline constexpr int kLoaderFds = 256;
inline constexpr int kShimFds = 320;

// A slot starts idle; after its first call it stays at reply until the next request.
enum class SlotState : std::uint32_t { idle = 0, request = 1, reply = 2 };

// Calls that are not Linux system calls.
enum Call : std::int64_t {
  // A thread's first call: it is ready; the reply comes when the scheduler first
  // runs it. The main thread makes it from the shim's constructor, before main().
  // args[0]: a new thread's id as simrun sees it (in the PID namespace of /proc, where
  // gettid() gives the run's), for the simulator to wait for its end; 0: unknown.
  kCallStart = 100000,
  // pthread_create is about to start a thread: the simulator makes its task and
  // answers the slot index the new thread is to use; args[1]: its thread id (gettid).
  kCallThreadCreate,
  // args[0] = slot index: a pthread_create that failed after kCallThreadCreate.
  kCallThreadAbandon,
  // The calling thread ends; the process goes on. args[0] = its id (gettid). The
  // simulator waits for the real thread's end (the thread its kCallStart named, or
  // the main thread) before anything else runs.
  kCallThreadExit,
  // exit_group(args[0]): the process ends here, in simulated order.
  kCallExit,
  // buffer: a message naming a call the shim cannot virtualise. The simulator shows
  // it on the process's stderr; the call then fails with ENOSYS.
  kCallUnsupported,
  // buffer: a host name (NUL-terminated). Reply buffer: the addresses it resolves to,
  // each one byte of family (4 or 6) and 16 bytes of address; result: their count,
  // or an EAI_ code (netdb.h, negative) when the lookup fails (a resolve_fail fault).
  kCallResolve,
  // args[0..1]: host address family (4/6) and address in buffer (16 bytes). Reply
  // buffer: the host name (NUL-terminated); result: its length, or -ENOENT.
  kCallReverseResolve,
  // fork() is about to make a child: the simulator makes its process, region and main
  // task. Result: the child's region index, or -errno; args[1]: its virtual pid.
  kCallFork,
  // args[0] = the child's region index, args[1] = its real pid (as the parent sees it,
  // in the run's PID namespace), or -errno when the real fork failed (the simulator
  // drops the child); args[2] = a pidfd of the child in the parent, or -errno.
  kCallForked,
  // The main thread's first call in a newly exec'ed image, instead of kCallStart.
  // Reply buffer: the process's simulated descriptors (int32 each); result: their
  // count. Those the exec closed (close-on-exec) the shim then closes with SYS_close.
  kCallExec,
  // args[0] = n; buffer: n struct pollfd, a part of a poll list longer than kPollPart
  // that is not its last (SYS_poll brings the last, and the reply is the whole list's).
  kCallPollPart,
};

// A poll list travels in parts of at most this many struct pollfd (8 bytes each):
// half the buffer, the shim keeping its own copy of the list in the other half. The
// reply to SYS_poll lists the ready entries only, as many as fit a part.
inline constexpr std::size_t kPollPart = kSlotBuffer / 2 / 8;
// The longest poll list a thread may send: Linux's default nr_open.
inline constexpr std::size_t kMaxPollList = 1 << 20;

struct alignas(64) Slot {
  std::atomic<std::uint32_t> state;  // SlotState; the futex word of both sides
  // Reply: a signal the thread raises on itself once it has the result (0: none):
  // how the simulator delivers SIGINT to a blocked process, deterministically.
  std::uint32_t signal;
  std::int64_t call;      // a Linux system call number or a Call
  std::int64_t args[6];
  std::int64_t result;    // >= 0, or -errno
  std::uint64_t size;     // bytes of buffer in use: the request's, then the reply's
  alignas(64) unsigned char buffer[kSlotBuffer];
};

struct Region {
  std::uint32_t magic;
  std::uint32_t version;
  std::int32_t pid;   // the virtual pid
  std::int32_t ppid;  // the virtual parent pid
  // The main thread has had its first turn: an image that finds it set was exec'ed.
  std::uint32_t started;
  // Virtual time, as the process's host reads it (its clock offset, drift and jumps):
  // CLOCK_REALTIME reads wall, CLOCK_MONOTONIC monotonic, the CPU clocks elapsed. The
  // simulator stores all three before every reply, so a thread that runs reads the
  // clock with no round trip.
  std::atomic<std::int64_t> wall;
  std::atomic<std::int64_t> monotonic;
  std::atomic<std::int64_t> elapsed;
  // getrandom() and /dev/urandom draw from a generator seeded with this.
  std::uint64_t seed;
  // The simulated machine (core's system_facts): what uname() and gethostname()
  // report, and the CPUs sched_getaffinity() and sysconf() count.
  struct utsname system;
  std::uint32_t cpus;
  // Its interfaces, for ioctl(SIOCGIF*): loopback, then eth0.
  struct Interface {
    char name[16];
    std::int32_t index;
    std::uint32_t ipv4;     // network order; 0: none
    std::uint32_t netmask;  // network order
    std::uint32_t flags;    // IFF_*
    std::int32_t mtu;
    unsigned char mac[6];
  } interfaces[2];
  // Descriptor 0 is simulated (a scripted stdin): the shim routes it to the simulator.
  std::uint32_t simulated_stdin;
  // How the program takes SIGCHLD, which the shim notes at every sigaction: 0 when it
  // has no handler (the default, or ignored), else kSigchldHandled, with
  // kSigchldRestart for SA_RESTART. The simulator sends SIGCHLD only to a handler.
  std::uint32_t sigchld;
  // The descriptors below kLoaderFds an exec left open for the loader's sake (a bit
  // per descriptor: plugs, and those it would have closed itself), for the new
  // image's shim to close.
  std::uint64_t exec_closes[kLoaderFds / 64];
  Slot slots[kMaxThreads];
};

// Where each region lies in the pool's memfd: a whole number of pages apart.
inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::size_t kRegionStride = (sizeof(Region) + kPageSize - 1) / kPageSize * kPageSize;
inline constexpr std::int64_t region_offset(int index) {
  return static_cast<std::int64_t>(index) * static_cast<std::int64_t>(kRegionStride);
}

inline constexpr std::uint32_t kSigchldHandled = 1;
inline constexpr std::uint32_t kSigchldRestart = 2;

// A flag on a slot's state: the side waiting for the next state sleeps on the futex
// (or is about to), so the side that posts it must wake it. A side that has not gone
// to sleep yet (the simulator still busy with another task) costs its partner no
// system call.
inline constexpr std::uint32_t kSleeping = 0x100;

// The state a word holds, whoever sleeps on it.
inline bool holds(std::uint32_t word, SlotState state) {
  return (word & ~kSleeping) == static_cast<std::uint32_t>(state);
}

// Sets the state and wakes the other side if it sleeps; `wake(word)` is a futex wake.
template <typename Wake>
void post(std::atomic<std::uint32_t>& word, SlotState state, Wake wake) {
  if (word.exchange(static_cast<std::uint32_t>(state), std::memory_order_acq_rel) & kSleeping)
    wake(&word);
}

// Sleeps until `done(state)`, announcing it with kSleeping; `sleep(expected)` is one
// futex wait on the word, and returns false to give up (the caller checks done).
template <typename Done, typename Sleep>
void sleep_until(std::atomic<std::uint32_t>& word, Done done, Sleep sleep) {
  for (;;) {
    std::uint32_t state = word.load(std::memory_order_acquire);
    if (done(state)) return;
    if (!(state & kSleeping)) {
      if (!word.compare_exchange_weak(state, state | kSleeping, std::memory_order_acq_rel)) continue;
      state |= kSleeping;
    }
    if (!sleep(state)) return;
  }
}

}  // namespace netsim::shim
