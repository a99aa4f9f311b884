#pragma once
// The entry point: a simulation owns the virtual network, the clock, the scheduler
// and the trace, spawns processes and runs them.
//
//   netsim::Simulation sim({.seed = 42});
//   sim.spawn("server", serve);
//   sim.spawn("client", ask);
//   auto result = sim.run();
//   std::cout << sim.transcript();
#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/config.hpp"
#include "netsim/kernel.hpp"
#include "netsim/process_control.hpp"
#include "netsim/scenario.hpp"
#include "netsim/sys.hpp"
#include "netsim/trace.hpp"

namespace netsim {

struct ProcessResult {
  int pid = 0;
  std::string name;
  int status = 0;       // exit status; kKilledStatus when the simulation stopped it
  bool killed = false;  // still running when the run ended
};

struct RunResult {
  Nanos elapsed = 0;       // virtual time the run took
  int exit_status = 0;     // of the last spawned process
  std::vector<ProcessResult> processes;  // in spawn order
};

// Every task blocked, no timer pending: the run cannot go on. what() is the report.
class DeadlockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The line a process still running when the run ends gets on its stderr, before
// what its cleanup prints: "netsim: stopped by SIGTERM at the end of the run\n". The
// same in-process and under simrun, whose stop signal may be another ("SIGINT").
std::string stop_line(std::string_view signal);

class Simulation {
 public:
  explicit Simulation(Config config = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // A named host with its own address(es), reachable from every other host.
  Host& add_host(std::string name, std::vector<Ip> addresses);

  // The network and faults of the run (scenario.hpp, Kernel::apply): before the first
  // spawn or create_process, which then place each program on its scenario host.
  // Throws std::invalid_argument naming what is wrong.
  void apply(const Scenario& scenario);
  // Who kills, pauses, resumes and restarts processes beyond the kernel
  // (process_control.hpp); null: the default, which restarts fiber processes spawned
  // here and has nothing else to do. Not owned.
  void set_process_control(ProcessControl* control);

  // A new process running body as a fiber. Processes start in spawn order, each once
  // every process spawned before it is blocked, so servers listen before clients
  // connect. Names are made unique: "client", "client-2". Returns the pid.
  int spawn(std::string name, TaskFn body, Host* host = nullptr);

  // The process part of spawn(), for tasks of other kinds (Python threads, shimmed
  // processes): a unique name, a pid, a host (none given: the scenario's placement
  // of `name`, else the default host). Add its first task with
  // kernel().add_task(task, /*staged=*/true).
  Process& create_process(std::string name, Host* host = nullptr);
  // A child of `parent` as fork() makes it (Kernel::fork_process), named `name` made unique.
  Process& fork_process(Process& parent, const std::string& name);

  // Runs until the last spawned process exits. Processes still running then take
  // what was still on its way to them (deliver_in_flight), go on until they block,
  // and are stopped as simrun stops a program without a SIGTERM handler: stop_line()
  // on stderr, status 143. Throws DeadlockError when every task blocks with no timer
  // pending.
  RunResult run();

  // The end of a run, once the last program has exited: virtual time moves on until
  // what the links carry at this moment has arrived, and the programs still running
  // take it as on Linux, where the network keeps delivering after a sender exits (a
  // server reads its client's last request, then EOF). Segments lost on the way and
  // messages a hold keeps are not waited for. Ends early when `stop` holds. Shared by
  // run() and simrun's.
  void deliver_in_flight(const std::function<bool()>& stop);

  // Asks run() to end at the next switch between tasks, as if the last process had
  // exited; processes still running are stopped. Callable from a task, and from any
  // other thread (a Ctrl-C watcher): the flag is atomic.
  void stop() { stop_requested_.store(true); }

  std::string transcript() const;
  const Trace& trace() const;
  Kernel& kernel() { return *kernel_; }

 private:
  // spawn(), staged or started at once (a restart).
  int start(std::string name, TaskFn body, Host* host, bool staged);
  // `name`, or "name-2", "name-3"... when a process has it already.
  std::string unique_name(const std::string& name);
  // Stops every process still running, each with stop_line() when `announce`;
  // returns their pids.
  std::vector<int> stop_all(bool announce);

  class FiberRestarts;

  std::unique_ptr<Kernel> kernel_;
  // For unique_name, which would otherwise look at every process for every try: the
  // names of the first names_seen_ processes (processes are never removed, so a name
  // once taken stays taken), and per name the suffix its next try starts from.
  std::unordered_set<std::string> names_;
  std::size_t names_seen_ = 0;
  std::unordered_map<std::string, int> next_suffix_;
  std::unique_ptr<FiberRestarts> restarts_;
  bool ran_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace netsim
