#pragma once
// The simulator's side of simrun: the real children, the remote tasks that serve
// their threads' calls, and simrun's own events (its signals, the watchdog, what
// children write around the shim), polled with Boost.Asio while a child runs.
#include <poll.h>
#include <sched.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child.hpp"
#include "netsim/process_control.hpp"
#include "netsim/shim/run.hpp"
#include "netsim/simulation.hpp"

namespace netsim::shim {

// "SIGTERM", as the transcript's netsim: lines and the report name a signal.
std::string signal_name(int signal);

// A simulated process whose program runs in a real child.
struct RemoteProcess {
  Process* process = nullptr;
  std::string base_name;   // the command's name, which forked children take
  std::optional<Command> command;  // what started it; none for a forked one
  int region_index = -1;   // in the pool; -1 once given to another process
  Region* region = nullptr;
  Child child;
  std::vector<Task*> threads{nullptr};  // the task serving each slot used so far, while it lives
  std::vector<pid_t> tids{0};  // each slot's thread as simrun sees it (kCallStart); slot 0's: child.pid
  std::string stray;       // bytes the child wrote to its real stdout/stderr (the loader's)
  std::optional<int> reaped_status;  // as a shell reports it, once waited for
  int reaped_signal = 0;             // the signal that killed it, if one did
  int signal = 0;          // the signal being delivered: what an interrupted call raises
  int pending = 0;         // a signal its next reply raises, on whichever thread it is
  int stopped_by = 0;      // the last signal the end of the run sent it
  bool offender = false;   // stopped for a malformed request, which its own line names
  std::unique_ptr<boost::asio::posix::stream_descriptor> output;  // none for a forked one
  std::array<char, 4096> output_buffer{};
};

// A thread of a child that has left the simulation, whose real end the runner waits
// for (thread_end.cpp). Made while the thread waits for its last reply.
class ThreadEnd {
 public:
  ThreadEnd(pid_t pid, pid_t tid);  // tid as simrun sees it, as the shim said
  ~ThreadEnd();
  ThreadEnd(const ThreadEnd&) = delete;
  ThreadEnd& operator=(const ThreadEnd&) = delete;
  // Waits a little; true once the thread has left user space (or was never found).
  bool wait() const;

 private:
  pid_t pid_;
  pid_t tid_ = -1;
  int pidfd_ = -1;  // the thread's own; -1: its state in /proc is polled
};

// simrun takes SIGINT and SIGTERM for the length of a run; Boost.Asio resets them to
// the default when done, so the caller's own handlers (Python's) are put back after.
class SavedSignals {
 public:
  SavedSignals();
  ~SavedSignals();
  SavedSignals(const SavedSignals&) = delete;
  SavedSignals& operator=(const SavedSignals&) = delete;

 private:
  struct sigaction interrupt_ {};
  struct sigaction terminate_ {};
};

// The runner is the simulation's ProcessControl (process_faults.cpp): a fault that
// kills a program kills its real child, and a restart starts its command again. A
// paused program is simply not served: its threads wait for their replies, parked,
// until it is resumed, so nothing real needs stopping.
class Runner : public ProcessControl {
 public:
  Runner(Simulation& simulation, const RunOptions& options);
  ~Runner() override;  // no child outlives simrun: kills and reaps whatever is left
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // staged: it waits for its first turn as a command does (false: a restart, at once).
  RemoteProcess& start(const Command& command, bool staged = true);
  void killed(Process& process) override;
  void restart(const Process& dead) override;
  // The commands come first, in order, then the processes they forked.
  const std::vector<std::unique_ptr<RemoteProcess>>& processes() const { return processes_; }

  // Ends a process still running at the end of the run: RunOptions::stop_signal, then
  // SIGTERM, each with a grace period of virtual time, then SIGKILL; one netsim: line
  // on its stderr for each.
  void stop(RemoteProcess& remote);
  // Kills what is left for real, lets the stopped tasks unwind and reaps every child.
  void finish();

  bool aborting() const { return aborting_; }
  // Why the run has no namespaces, "" when it has them (sandbox.hpp).
  const std::string& sandbox_warning() const { return sandbox_.warning(); }
  bool interrupted() const { return interrupted_; }
  bool timed_out() const { return timed_out_; }
  const std::string& problem() const { return problem_; }
  // The calls the programs made that netsim does not simulate, each once, in order:
  // "NAME: what (the call failed with ENOSYS)".
  const std::vector<std::string>& unsupported() const { return unsupported_; }

 private:
  Task& add_thread(RemoteProcess& remote, int index, bool staged);
  // A region of the pool for a new process, mapped; -1 when all are taken.
  int claim_region();
  // A new region at the end of the pool; -1 when it cannot grow.
  int grow_pool();
  // A region for a new process, its slots idle up to the highest its last owner used.
  void fill_region(int index, const Process& process, bool simulated_stdin);
  // The time the process's host reads, for the shim to answer clock reads with.
  void store_clocks(Region& region, const Process& process);
  RemoteProcess* find_remote(int pid) const;
  // process_calls.cpp: fork, exec, wait and kill between simulated processes.
  bool serve_process(RemoteProcess& remote, int index, Task& self, Slot& slot, long& result);
  long fork(RemoteProcess& parent, Task& self, Slot& slot);
  // setitimer, getitimer, timer_settime, timer_gettime, timerfd_settime, timerfd_gettime:
  // the old or current value
  // goes back in args[1] and args[2].
  long timer_call(Task& self, Slot& slot);
  long forked(const RemoteProcess& parent, const std::int64_t* args);
  long exec(RemoteProcess& remote, int index, Slot& slot);
  // kill(2) from `caller` to the processes Kernel::signal_targets names (`group`:
  // tgkill's tgid, 0 for any); the caller's own share is raised by the reply in `slot`.
  long kill(RemoteProcess& caller, Slot& slot, int pid, int signal, int group);
  // A signal from another process, at the call the target is blocked in or its next.
  void deliver(RemoteProcess& target, int signal);
  // The process ends in the simulation; its parent gets SIGCHLD if it handles it.
  void end(RemoteProcess& remote, int status, int signal);
  void serve(RemoteProcess& remote, int index, Task& self);
  // runtime_calls.cpp: the calls of the shim's runtime (threads, exit, output, time,
  // futexes); the socket calls go to serve_net.
  long serve_call(RemoteProcess& remote, int index, Task& self, Slot& slot, std::vector<pollfd>& poll_list,
                  bool& last);
  // Waits for the thread's next request; false when the child died or the run aborts.
  bool wait_request(RemoteProcess& remote, Slot& slot);
  // thread_end.cpp: returns once the thread has ended for real (or the child is gone,
  // or the run aborts).
  void await_thread_end(RemoteProcess& remote, const ThreadEnd& thread);
  // The child is gone (or the run aborts) while its thread was running.
  void lose(RemoteProcess& remote, Task& self);
  void kill_now(RemoteProcess& remote);
  bool reap(RemoteProcess& remote, bool block);
  void read_output(RemoteProcess& remote);
  void drain_output(RemoteProcess& remote);
  void poll_events();
  void abort(std::string problem);

  Simulation& simulation_;
  const RunOptions& options_;
  std::vector<std::string> env_;  // the children's: the caller's, with fixed_environment()
  // Destroyed after the destructor's body has reaped every child simrun started.
  Sandbox sandbox_;
  std::optional<cpu_set_t> saved_cpus_;     // simrun's own, given back after the run
  int pool_fd_ = -1;  // the region pool (channel.hpp)
  std::vector<Region*> regions_;  // its regions so far, mapped
  std::vector<int> slots_used_;    // per region: one past the highest slot ever given out
  int was_subreaper_ = 0;
  std::vector<std::unique_ptr<RemoteProcess>> processes_;
  RemoteProcess* running_ = nullptr;  // whose thread runs now, for the watchdog's report
  std::chrono::steady_clock::time_point next_poll_{};  // of simrun's own events
  boost::asio::io_context io_;
  SavedSignals saved_signals_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_;
  bool aborting_ = false;
  bool interrupted_ = false;
  bool timed_out_ = false;
  std::string problem_;
  std::vector<std::string> unsupported_;
};

}  // namespace netsim::shim
