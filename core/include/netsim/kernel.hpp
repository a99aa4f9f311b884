#pragma once
// The simulated kernel: hosts, processes and their descriptors, and the socket calls.
// Calls are shaped like Linux system calls: they return a non-negative result or
// -errno, never throw (except TaskCancelled), and may block the calling task. The
// C++ task API (Sys), the Python package and the shim are all built on this surface.
#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/clock.hpp"
#include "netsim/config.hpp"
#include "netsim/process_control.hpp"
#include "netsim/rng.hpp"
#include "netsim/scenario.hpp"
#include "netsim/scheduler.hpp"
#include "netsim/task.hpp"
#include "netsim/trace.hpp"

namespace netsim {

struct Socket;
class Net;
class Links;
class Faults;
namespace cassette {
class Recorder;
}

// A machine on the virtual network: its name, its addresses (besides loopback, which
// every host has for itself) and the ports bound on it.
struct Host {
  int id = 0;
  std::string name;
  std::vector<Ip> addresses;
  // Its clocks (HostSpec): Kernel::wall_clock and monotonic_clock read them.
  Nanos clock_offset = 0;  // the offset, plus every clock_jump so far
  double clock_drift = 0;
};

// What a name lookup (getaddrinfo) answers: the addresses, or an EAI_* error
// (netdb.h: EAI_NONAME for an unknown name, or what a resolve_fail fault says).
struct Resolution {
  int error = 0;
  std::vector<Ip> addresses;
};

// The session of the processes the simulation starts, as a terminal's shell's jobs
// share theirs: its leader, their parent, is not simulated.
inline constexpr int kOuterSession = 1;

class Process {
 public:
  Process(int pid, std::string name, Host& host)
      : pid_(pid), name_(std::move(name)), host_(&host), pgid_(pid), sid_(kOuterSession) {}

  int pid() const { return pid_; }
  const std::string& name() const { return name_; }
  Host& host() const { return *host_; }
  // The virtual pid of the process that forked it, 0 for none (or once it is gone).
  int parent() const { return parent_; }
  // getppid(2): the parent, or for none the run's init (pid 1, the leader of
  // kOuterSession), which Linux makes an orphan's parent too.
  int ppid() const;
  // Its process group and session (groups.cpp): a process the simulation starts leads
  // its own group in kOuterSession; a forked one inherits its parent's.
  int pgid() const { return pgid_; }
  int sid() const { return sid_; }
  bool exited() const { return exit_status_.has_value(); }
  std::optional<int> exit_status() const { return exit_status_; }
  // The signal that ended it, 0 when it exited.
  int exit_signal() const { return exit_signal_; }
  const std::vector<Task*>& tasks() const { return tasks_; }
  // Played by netsim itself (a cassette's service), not one of the run's programs: the
  // end of a run stops it without a line in the transcript.
  bool played_by_netsim() const { return played_by_netsim_; }
  void set_played_by_netsim() { played_by_netsim_ = true; }

 private:
  friend class Kernel;
  int pid_;
  std::string name_;
  Host* host_;
  int pgid_;
  int sid_;
  std::map<int, std::shared_ptr<Socket>> fds_;
  std::vector<Task*> tasks_;
  std::optional<int> exit_status_;
  int exit_signal_ = 0;
  int parent_ = 0;
  bool reaped_ = false;  // a parent waited for it
  bool stderr_mid_line_ = false;  // what it last wrote to stderr ended without a newline
  bool played_by_netsim_ = false;
  WaitQueue child_exits_;  // its parent's wait_child
};

// The default host's own addresses, which named hosts see as their clients'.
inline constexpr const char* kDefaultHostIpv4 = "10.0.0.1";
inline constexpr const char* kDefaultHostIpv6 = "fd00::1";

// Exit status of a process the simulation stopped, as a shell reports SIGTERM.
inline constexpr int kKilledStatus = 128 + 15;
// First virtual id, as in Shadow: well clear of 0 and 1, identical on every run.
// Pids and thread ids are one numbering, as on Linux: a process's pid is its first
// thread's id, and every process and every later thread takes the next id, in the
// order they are made; an id is never reused within a run.
inline constexpr int kFirstPid = 1000;

// The line a process killed by `signal` gets on its stderr, as a shell reports a
// job: "netsim: killed by SIGTERM (Terminated)".
std::string killed_line(int signal);

class VirtualTimer;

class Kernel {
 public:
  explicit Kernel(const Config& config);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  const Config& config() const { return config_; }
  Clock& clock() { return clock_; }
  Rng& rng() { return rng_; }
  Trace& trace() { return trace_; }
  const Trace& trace() const { return trace_; }
  Scheduler& scheduler() { return scheduler_; }

  // --- hosts and names ---
  Host& default_host() { return *hosts_.front(); }
  // A named host with its own addresses (e.g. "db", {10.0.0.2}).
  Host& add_host(std::string name, std::vector<Ip> addresses);
  // "localhost", a host's name, or a literal address; empty when unknown.
  std::vector<Ip> resolve(std::string_view name) const;
  Host* find_host(std::string_view name) const;
  // Every host, the default one first, in the order they were added.
  const std::vector<std::unique_ptr<Host>>& hosts() const { return hosts_; }

  // --- processes and tasks ---
  Process& create_process(std::string name, Host& host);
  // Takes ownership; the task starts when the scheduler first resumes it.
  Task& add_task(std::unique_ptr<Task> task, bool staged);
  int next_task_id() const { return static_cast<int>(tasks_.size()) + 1; }
  // A child of `parent` as fork() makes it: the same host, and every descriptor
  // shared with the parent (each socket has one more open descriptor). No task yet.
  Process& fork_process(Process& parent, std::string name);
  // Ends a process: stops its other tasks, closes its descriptors (unread data resets
  // the peer, as on Linux) and frees its ports at once: there is no TIME_WAIT. Its
  // status stays for its parent's wait_child. `signal`: the one that killed it.
  void exit_process(Process& process, int status, int signal = 0);
  const std::vector<std::unique_ptr<Process>>& processes() const { return processes_; }
  Process* find_process(int pid) const;
  // The live task whose thread id is `tid`, or null.
  Task* find_thread(int tid) const;

  // --- the scenario (scenario.hpp) ---
  // Adds its hosts (addresses given or the next free 10.0.0.N / fd00::N), sets the
  // links and schedules the faults. Once, before the first process is created;
  // throws std::invalid_argument naming what is wrong (an unknown host, a bad
  // probability...). Without it the network is a perfect wire.
  void apply(const Scenario& scenario);
  const Scenario& scenario() const { return scenario_; }
  // The host the scenario places `program` on, or null.
  Host* placement(std::string_view program) const;
  // Who carries out kill/pause/resume/restart beyond the kernel (process_control.hpp).
  // Not owned; must outlive the run.
  void set_process_control(ProcessControl* control) { control_ = control; }
  ProcessControl* process_control() const { return control_; }
  // The clocks a program on `host` reads (HostSpec: offset, drift, jumps):
  // CLOCK_REALTIME and CLOCK_MONOTONIC. The trace keeps the simulation's own time.
  Nanos wall_clock(const Host& host) const;
  Nanos monotonic_clock(const Host& host) const;
  // getaddrinfo() of `name` for the calling task: resolve(name), unless a
  // resolve_fail fault matches (recorded as a fault event). Names match without
  // regard to case, as /etc/hosts and DNS match them.
  Resolution resolve(Task& self, std::string_view name);
  // SIGSTOP / SIGCONT of a process, as the pause and resume faults do: none of its
  // tasks runs until it is resumed (the kernel's part; ProcessControl is told).
  void pause_process(Process& process);
  void resume_process(Process& process);

  // --- calls, made on the calling task's context ---
  // Calls that create a descriptor take the lowest free number, or `at` when it is
  // given: the shim and the Python package reserve a real descriptor for each
  // simulated one, so that the numbers never collide with the process's own files.
  long socket(Task& self, int domain, int type, int protocol, int at = -1);
  long bind(Task& self, int fd, const Address& address);
  long listen(Task& self, int fd, int backlog);
  long accept(Task& self, int fd, Address* peer, int flags, int at = -1);
  // A connected pair of stream sockets with no address, as socketpair(AF_UNIX)
  // makes; pipes are built on it (pipe.cpp). type may carry SOCK_NONBLOCK and SOCK_CLOEXEC.
  long socketpair(Task& self, int type, int at0, int at1);
  // pipe2(2) (pipe.cpp): a stream socket pair whose ends each go one way, as Linux's
  // pipes do. fds[0] (the read end) and fds[1] (the write end) give the numbers to
  // take, or -1 for the lowest free, and hold the numbers taken on return. flags:
  // O_NONBLOCK and O_CLOEXEC (the caller's business), equal to the SOCK_ flags.
  long pipe(Task& self, int flags, int fds[2]);
  long connect(Task& self, int fd, const Address& address);
  long sendto(Task& self, int fd, const void* data, std::size_t size, int flags,
              const Address* to);
  long recvfrom(Task& self, int fd, void* data, std::size_t size, int flags, Address* from);
  long shutdown(Task& self, int fd, int how);
  long close(Task& self, int fd);
  long dup(Task& self, int fd, int at = -1);
  long getsockname(Task& self, int fd, Address* out);
  long getpeername(Task& self, int fd, Address* out);
  // Unix-domain sockets (unix.cpp), made by socket(AF_UNIX) and socketpair. A name is
  // sun_path's bytes: a path without its NUL, or a NUL then an abstract name; empty
  // is unnamed (bind: autobind; from: a sender with no name). The calls above that
  // take no address (listen, send, recv, ...) serve them too.
  long bind_unix(Task& self, int fd, std::string_view name);
  long connect_unix(Task& self, int fd, std::string_view name);
  long accept_unix(Task& self, int fd, std::string* peer, int flags, int at = -1);
  long sendto_unix(Task& self, int fd, const void* data, std::size_t size, int flags,
                   std::string_view to);
  long recvfrom_unix(Task& self, int fd, void* data, std::size_t size, int flags, std::string* from);
  // getsockname (peer false) or getpeername.
  long name_unix(Task& self, int fd, bool peer, std::string* out);
  // unlink(2) of a path a Unix socket was bound to: the simulation's file, which
  // Linux keeps after close. -ENOENT when no socket was bound there.
  long unlink_unix(Task& self, std::string_view path);
  // fcntl(F_GETFL)/(F_SETFL) as far as sockets need it: O_NONBLOCK.
  long get_nonblocking(Task& self, int fd);
  long set_nonblocking(Task& self, int fd, bool on);
  long setsockopt(Task& self, int fd, int level, int name, int value);
  long getsockopt(Task& self, int fd, int level, int name, int* value);
  // poll(2): select and Python's selectors are built on it. timeout: nullopt waits
  // forever, 0 does not wait.
  long poll(Task& self, std::span<pollfd> fds, std::optional<Nanos> timeout);
  // epoll(7) (epoll.cpp): an epoll instance is a descriptor whose interest list
  // belongs to the open file, shared by dup and fork; level-triggered, EPOLLET and
  // EPOLLONESHOT as Linux. flags: EPOLL_CLOEXEC (the caller's business). A wait
  // fills at most out.size() events, as epoll_wait's maxevents.
  struct EpollEvent {
    std::uint32_t events = 0;
    std::uint64_t data = 0;
  };
  long epoll_create(Task& self, int flags, int at = -1);
  long epoll_ctl(Task& self, int epfd, int op, int fd, std::uint32_t events, std::uint64_t data);
  long epoll_wait(Task& self, int epfd, std::span<EpollEvent> out, std::optional<Nanos> timeout);
  long sleep(Task& self, Nanos duration);
  // waitpid(2) for the caller's children: pid > 0 that child, -1 any. Blocks until one
  // has exited (unless nohang: 0 when none has), reaps it and returns its pid, with
  // its status in the form waitpid reports; -ECHILD when there is nobody to wait for.
  long wait_child(Task& self, int pid, bool nohang, int* status);
  // eventfd2(2) (eventfd.cpp): flags EFD_NONBLOCK, EFD_CLOEXEC (the caller's
  // business) and EFD_SEMAPHORE. recvfrom and sendto on it read and add to the counter.
  long eventfd(Task& self, unsigned initval, int flags, int at = -1);
  // Timers in virtual time (timers.cpp). A value is the time left until the timer
  // expires and its period; a value of 0 disarms it.
  struct TimerValue {
    Nanos value = 0;
    Nanos interval = 0;
  };
  // How a timer's signal reaches its process: the front-end's (simrun's runner
  // delivers it at the call the process is blocked in). Without one, the calls whose
  // timers signal fail with ENOSYS: nobody could deliver the signal.
  void set_signal_hook(std::function<void(Process&, int)> hook) { signal_hook_ = std::move(hook); }
  // setitimer/getitimer(2): ITIMER_REAL sends SIGALRM at expiry, then every interval.
  // ITIMER_VIRTUAL (SIGVTALRM) and ITIMER_PROF (SIGPROF) count the process's CPU time,
  // which in the simulation is its virtual time (as its CPU-time clocks read), so they
  // expire as ITIMER_REAL does. Not inherited by a fork's child; kept across exec.
  long setitimer(Task& self, int which, TimerValue next, TimerValue* old);
  long getitimer(Task& self, int which, TimerValue* current);
  // alarm(2) on the same timer: the previous alarm's seconds left, rounded as Linux does.
  long alarm(Task& self, unsigned seconds);
  // timerfd_create/settime/gettime(2): a descriptor whose read (8 bytes or more)
  // takes the number of expirations since the last read, as a u64, and blocks while it
  // is 0; poll sees it readable above 0. Clocks: realtime, monotonic and boottime
  // (and their _ALARM forms); settime takes TFD_TIMER_ABSTIME.
  long timerfd_create(Task& self, int clockid, int flags, int at = -1);
  long timerfd_settime(Task& self, int fd, int flags, TimerValue next, TimerValue* old);
  long timerfd_gettime(Task& self, int fd, TimerValue* current);
  // POSIX timers, timer_create/settime/gettime/getoverrun/delete(2): ids per process
  // 0, 1, 2..., as Linux gives them; `signo` is sent at each expiry (SIGEV_SIGNAL), or
  // 0 for none (SIGEV_NONE). Clocks as timerfd's, and the CPU-time ones (virtual time,
  // as ITIMER_PROF); settime takes TIMER_ABSTIME. A signal
  // does not queue behind its own pending one: getoverrun counts the expiries the last
  // one stood for, beyond the first. Not inherited by a fork's child; deleted by exec.
  long timer_create(Task& self, int clockid, int signo);
  long timer_settime(Task& self, int id, int flags, TimerValue next, TimerValue* old);
  long timer_gettime(Task& self, int id, TimerValue* current);
  long timer_getoverrun(Task& self, int id);
  long timer_delete(Task& self, int id);
  // What an exec does to the process's timers: its POSIX timers are deleted (the next
  // id goes on from the old count), its setitimer timers and alarm kept, as on Linux.
  void exec_timers(const Process& process);
  // Process groups and sessions (groups.cpp), as setpgid(2), getpgid(2), setsid(2) and
  // getsid(2) for the caller; pid 0 is the caller.
  long setpgid(Task& self, int pid, int pgid);
  long getpgid(Task& self, int pid);
  long setsid(Task& self);
  long getsid(Task& self, int pid);
  // The live processes of group `pgid`, in pid order: whom kill(-pgid) reaches.
  std::vector<Process*> group_members(int pgid) const;
  // Signals (signals.cpp). Whom kill(2) from `caller` reaches: pid > 0 the process of
  // that pid (an exited one too, which ignores it) or of the live thread of that id
  // (Linux signals a thread's whole process); 0 the caller's group; < -1 the group
  // -pid; -1 (every process) nobody: -ESRCH. `group` > 0 (tgkill's tgid): the target
  // must be that process. -ESRCH when nobody is reached, else -EINVAL for a bad
  // signal (Linux looks for the targets first).
  long signal_targets(const Process& caller, int pid, int signal, int group, std::vector<Process*>& out) const;
  // kill(2) for a front-end whose processes install no handlers (in-process Python:
  // only a process's main OS thread could): each target takes the signal's default
  // action, the caller at once, another process between the caller's turn and the
  // next (as a shimmed process takes a signal when it next runs). Ignored (SIGCHLD,
  // SIGURG, SIGWINCH), stopped (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: as the pause
  // fault), continued (SIGCONT), or ended with status 128 + signal and killed_line()
  // on its stderr. A caller that ends itself does not return (TaskCancelled). `group` as signal_targets's: tgkill, pthread_kill and raise.
  long kill(Task& self, int pid, int signal, int group = 0);
  // The descriptors the process has, in order (what an exec'ed image takes over).
  std::vector<int> fds_of(const Process& process) const;
  // Futexes (futex.cpp): wait queues named by simulation-wide keys, for locks built
  // in user space (Python's threading; the shim's FUTEX_WAIT). futex_wait blocks
  // until woken (0) or `timeout` passes (-ETIMEDOUT, at once if <= 0); `what`, a
  // static string, names the wait in the deadlock report. It is no scheduling point
  // before it blocks, so the caller's check of its word and the wait are atomic.
  long futex_wait(Task& self, std::uint64_t key, std::optional<Nanos> timeout, const char* what);
  // Wakes up to `count` waiters on key, longest waiting first; returns how many.
  long futex_wake(Task& self, std::uint64_t key, int count);
  // stream 1 is stdout, 2 is stderr.
  long write_output(Task& self, int stream, std::string_view bytes);
  // Records output without being a scheduling point: for messages written while a
  // task is already ending (an uncaught exception).
  void emit_output(const Task& task, int stream, std::string_view bytes);
  // netsim's own line on a process's stderr (`line` ends with a newline), on a line of
  // its own even after an unfinished one, as a shell's message would be.
  void emit_notice(const Task& task, std::string_view line);

  // What a descriptor is and what fstat(2), lseek(2) and ioctl(FIONREAD/SIOCINQ,
  // SIOCOUTQ) see of it (file_kind.cpp): pure reads of the kernel's state, with no
  // scheduling point and no trace event, so that asking changes nothing. Each
  // returns -EBADF for a descriptor the process does not have.
  enum class FileKind : std::uint8_t { tcp, udp, unix_stream, unix_datagram, pipe, eventfd, timerfd };
  long file_kind(const Process& process, int fd) const;  // a FileKind, or -EBADF
  // st_mode as Linux reports it: S_IFSOCK | 0777 for sockets, S_IFIFO | 0600 for
  // pipes, 0600 (an anonymous inode, no file type) for eventfd and timerfd.
  long file_mode(const Process& process, int fd) const;
  // lseek(2)'s answer at offset 0: -ESPIPE, or 0 where Linux's noop_llseek answers.
  long seek(const Process& process, int fd) const;
  // FIONREAD (SIOCINQ): the bytes a read would return now (a datagram socket: the
  // next datagram's); SIOCOUTQ: the bytes sent that have not reached the peer.
  // -EINVAL on a listening socket, -ENOTTY where Linux has no such ioctl.
  long bytes_readable(const Process& process, int fd) const;
  long bytes_unsent(const Process& process, int fd) const;

  // The report of who waits for what, one line per blocked task, for deadlocks.
  std::string describe_waits() const;
  // "TCP 127.0.0.1:40000 -> 127.0.0.1:10000"
  std::string describe_fd(const Process& process, int fd) const;

  // A scripted stdin: installs at `fd` a stream that reads `bytes`, then end of file.
  // Not a call: made for a process before it starts.
  void install_input(Process& process, int fd, std::string bytes);

  // --- for the protocol implementations in core/src ---
  Net& net() { return *net_; }
  Links& links() { return *links_; }
  Faults& faults() { return *faults_; }
  // The cassette's recording of simulated servers (cassette_tap.hpp); null when none.
  cassette::Recorder* cassette_recorder() const { return cassette_recorder_; }
  void set_cassette_recorder(cassette::Recorder* recorder) { cassette_recorder_ = recorder; }
  // The generator of link and fault draws (jitter, loss, probabilities): apart from
  // rng() so that a scenario never shifts ephemeral ports or random bytes.
  Rng& fault_rng() { return fault_rng_; }
  // Gives the socket descriptor `at`, or the lowest free one; -EBADF if `at` is taken.
  int install(Process& process, std::shared_ptr<Socket> socket, int at = -1);
  // The lowest descriptor number the process has free, other than `other`.
  int lowest_free_fd(const Process& process, int other = -1) const;

 private:
  std::shared_ptr<Socket> lookup(const Task& self, int fd) const;
  void release(Process& process, const Task* actor, int fd);
  long result(Task& self, int fd, long r, const char* call);
  void begin_call(Task& self);

  Config config_;
  Clock clock_;
  Rng rng_;
  Rng schedule_rng_;  // the scheduler's own draws: a schedule never shifts the ports
  Rng fault_rng_;
  Trace trace_;
  Scheduler scheduler_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<Process>> processes_;
  std::vector<std::unique_ptr<Task>> tasks_;
  int next_id_ = kFirstPid;  // the next pid or thread id
  std::unique_ptr<Net> net_;
  std::function<void(Process&, int)> signal_hook_;
  struct PosixTimer;
  std::shared_ptr<PosixTimer> find_timer(const Task& self, int id) const;
  void disarm_timers(int pid);  // at its exit: a dead process's timers expire no more
  std::map<std::pair<int, int>, std::shared_ptr<VirtualTimer>> itimers_;  // by pid, which
  std::map<std::pair<int, int>, std::shared_ptr<PosixTimer>> posix_timers_;  // by pid, id
  std::map<int, int> next_timer_id_;  // by pid
  std::unique_ptr<Links> links_;
  std::unique_ptr<Faults> faults_;
  Scenario scenario_;
  ProcessControl* control_ = nullptr;
  cassette::Recorder* cassette_recorder_ = nullptr;
  // Declared after tasks_, so destroyed first: a queue unregisters its waiters.
  std::map<std::uint64_t, WaitQueue> futexes_;
};

}  // namespace netsim
