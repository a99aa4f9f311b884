#pragma once
// The shim's internal interface: what every concern file (net, poll, time, threads...)
// builds on. The shim is loaded into programs that know nothing of it, so it uses no
// exceptions, no iostreams and no allocation on the paths a signal handler takes.
#include <sys/syscall.h>

#include "netsim/shim/arch.hpp"
#include "netsim/shim/channel.hpp"

namespace netsim::shim {

// A system call made from the shim's own code: the one instruction the seccomp filter
// lets through. Returns the kernel's result (-errno on failure).
extern "C" long netsim_raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
                                   long a5);
// Where that instruction lives: arch::kGateAddress.
using arch::kGateAddress;
// Maps it; before any raw() call of a new image. False when the address is taken.
bool map_gate();
inline long raw(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                long a5 = 0) {
  return netsim_raw_syscall(nr, a0, a1, a2, a3, a4, a5);
}

// Every intercepted call, from a libc wrapper or from the SIGSYS handler, comes here:
// it has the system call's semantics and returns a result or -errno. A call that is
// not simulated (a file read, a thread that is not or no longer simulated) is made
// for real.
long dispatch(long nr, const long* args);
// The same from a libc wrapper: -1 and errno on failure.
long libc_result(long r);

// The process's region of the pool (channel.hpp) and its index there.
Region& region();
int region_index();
// The pool's descriptor, which stays open across exec for the next image: the
// program cannot close it.
int pool_fd();
void set_pool_fd(int fd);
// Maps region `index` of the pool as the process's own, in place of the one it had
// (a forked child's parent's); false when it cannot be mapped.
bool map_region(int index);
// The calling thread's slot; null when the thread is not simulated (not started by
// the simulator, or already past its kCallThreadExit).
Slot* my_slot();
void set_my_slot(Slot* slot);

// Writes a request without payload into `slot`: the call, its arguments, size 0.
void set_call(Slot& slot, long call, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0,
              long a4 = 0, long a5 = 0);
// Sends the request already written into `slot` (call, args, buffer and size) and
// waits for the reply. Raises the signal the reply carries, then returns the result.
long forward(Slot& slot);
// The same for a call without payload.
long forward(long call, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
             long a5 = 0);
// Tells the simulator about a call the shim cannot virtualise (shown on the process's
// stderr, naming `what`) and returns -ENOSYS.
long unsupported(const char* what);

// Descriptors. A simulated descriptor is a real one reserved at the lowest free
// number outside the loader's window (channel.hpp), a placeholder on /dev/null, and
// marked here.
// random: an open /dev/urandom or /dev/random, read from the seeded generator.
enum class FdKind : unsigned char { none, socket, random };
FdKind fd_kind(long fd);
inline bool is_simulated(long fd) { return fd_kind(fd) == FdKind::socket; }
// Reserves a placeholder at `at` (dup2 onto it) or at the lowest free number outside
// the loader's window; returns the number or -errno.
long reserve_fd(FdKind kind, long at = -1);
// The lowest free number >= floor outside the loader's window, taken (close-on-exec,
// a duplicate of the pool's descriptor) for the caller to dup onto; or -errno.
long lowest_free_fd(long floor);
// Before an exec: fills the numbers below kLoaderFds that are free, or that the exec
// would free (close-on-exec), with plugs (region().exec_closes), so that the new
// image's loader opens its libraries in the window. unplug_low_fds() closes them in
// the new image; after an exec that failed, it restores the program's descriptors.
void plug_low_fds();
void unplug_low_fds(bool exec_failed);
// Closes the placeholder and forgets the mark.
void release_fd(long fd);
// Marks a descriptor the process already has (its stdin) as standing for a simulated one.
void adopt_fd(long fd, FdKind kind);
// close_range(): simulated descriptors in the range are closed in the simulation,
// and the pool's descriptor is left open.
long close_range_call(const long* args);

// The concern files: each answers the calls it owns (true) and leaves the others.
// net.cpp: socket calls, and read/write/close/dup/fcntl/ioctl/fstat on sockets.
bool net_call(long nr, const long* args, long& result);
// interfaces.cpp: ioctl(SIOCGIF*) on a socket (request 0x8910 to 0x89ff): the
// simulated host's interfaces.
long interface_ioctl(unsigned long request, long arg);
// eventfd.cpp: eventfd and eventfd2, a simulated descriptor net.cpp serves after.
bool eventfd_call(long nr, const long* args, long& result);
bool timer_call(long nr, const long* args, long& result);
// poll.cpp: poll, ppoll, select, pselect6 and the epoll calls (an epoll instance is
// a simulated descriptor, as a socket is).
bool poll_call(long nr, const long* args, long& result);
// paths.cpp: unlink/unlinkat of a simulated Unix socket's path.
bool path_call(long nr, const long* args, long& result);

// The runtime's own concerns, in the same style.
// system.cpp: the simulated machine: uname, sched_getaffinity.
bool system_call(long nr, const long* args, long& result);
// process.cpp: exit, pids, getrandom, signals, and what is not simulated yet.
bool process_call(long nr, const long* args, long& result);
// time.cpp: clocks and sleeps.
bool time_call(long nr, const long* args, long& result);
// threads.cpp: futexes.
bool thread_call(long nr, const long* args, long& result);
// random.cpp: reads of /dev/urandom and /dev/random descriptors, from the generator
// getrandom() draws from.
bool random_call(long nr, const long* args, long& result);
// output.cpp: writes to the standard output and error (and descriptors dup'ed from
// them), which become the transcript.
bool output_call(long nr, const long* args, long& result);

// fork.cpp: fork(), vfork() and clone() without CLONE_THREAD, as a fork: the child
// gets its own process, region and task in the simulation before it runs.
long fork_call(long flags, long parent_tid, long child_tid, long tls);
// exec.cpp: execve()/execveat() with the shim and the pool passed on to the new image;
// the new image's side, from the constructor: taking over the process.
long exec_call(long nr, const long* args);
void join_after_exec();
// Saves what exec passes on (LD_PRELOAD's first entry, the shim), at start.
void remember_preload(const char* value);
// threads.cpp: a forked child has only the thread that forked.
void forget_threads();
// The virtual id (gettid) of the thread in slot `index`, as the core numbers threads
// (Kernel's one numbering of pids and thread ids): the main thread's is the pid.
long virtual_tid(long index);
// Records the calling thread's real id for its slot, once it has one.
void note_thread();
// The real id of this process's thread with id `tid`: virtual (gettid()'s), or real
// (pthread_kill's, from glibc's own records); -ESRCH when it has no such thread.
long real_tid_of(long tid);

// The calling thread leaves the simulation (its start routine returned, or
// pthread_exit): kCallThreadExit, then its calls are made for real.
void end_simulated_thread();
// Fills `size` bytes from the seeded generator (random.cpp); returns size.
long random_bytes(void* out, long size);
// Seeds getrandom's generator (random.cpp) and patches the vDSO (time.cpp) at start.
void seed_random(std::uint64_t seed);
void patch_vdso();
// seccomp.cpp: the SIGSYS handler, then the filter.
// An exec'ed image keeps its predecessor's filter: it only needs the handler.
void install_trap(bool filter);

// Virtual time (time.cpp), readable with no round trip.
long long now_realtime_ns();
long long now_monotonic_ns();

}  // namespace netsim::shim
