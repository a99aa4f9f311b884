#include "netsim/simulation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <stdexcept>

#include "link.hpp"
#include "netsim/fiber_task.hpp"
#include "netsim/transcript.hpp"

namespace netsim {
namespace {

// Enough for servers to answer what the last process left them; a bound so that a
// task that never blocks cannot keep the run from ending.
constexpr std::size_t kDrainTurns = 10'000;

}  // namespace

// The default ProcessControl: a killed fiber process restarts by running its body
// again in a new process; processes of other kinds have no body here to restart.
class Simulation::FiberRestarts : public ProcessControl {
 public:
  explicit FiberRestarts(Simulation& sim) : sim_(sim) {}
  void remember(int pid, const TaskFn& body) { bodies_[pid] = body; }
  void restart(const Process& dead) override {
    const auto it = bodies_.find(dead.pid());
    if (it == bodies_.end()) return;
    // The program's own name ("client" for client-2), so that placement and fault
    // matching find it again.
    sim_.start(program_of(dead), it->second, &dead.host(), false);
  }

 private:
  std::string program_of(const Process& process) const {
    const auto it = programs_.find(process.pid());
    return it == programs_.end() ? process.name() : it->second;
  }
  friend class Simulation;
  Simulation& sim_;
  std::map<int, TaskFn> bodies_;
  std::map<int, std::string> programs_;
};

Simulation::Simulation(Config config)
    : kernel_(std::make_unique<Kernel>(config)), restarts_(std::make_unique<FiberRestarts>(*this)) {
  kernel_->set_process_control(restarts_.get());
}

Simulation::~Simulation() = default;

Host& Simulation::add_host(std::string name, std::vector<Ip> addresses) {
  return kernel_->add_host(std::move(name), std::move(addresses));
}

void Simulation::apply(const Scenario& scenario) { kernel_->apply(scenario); }

void Simulation::set_process_control(ProcessControl* control) {
  kernel_->set_process_control(control ? control : restarts_.get());
}

std::string Simulation::unique_name(const std::string& name) {
  // The same script started twice must still be told apart in the transcript.
  const auto& processes = kernel_->processes();
  for (; names_seen_ < processes.size(); ++names_seen_) names_.insert(processes[names_seen_]->name());
  if (!names_.contains(name)) return name;
  int& n = next_suffix_.try_emplace(name, 2).first->second;
  for (;; ++n) {
    std::string unique = fmt::format("{}-{}", name, n);
    if (!names_.contains(unique)) return unique;
  }
}

Process& Simulation::create_process(std::string name, Host* host) {
  if (!host) host = kernel_->placement(name);
  Process& process = kernel_->create_process(unique_name(name), host ? *host : kernel_->default_host());
  restarts_->programs_[process.pid()] = std::move(name);
  return process;
}

Process& Simulation::fork_process(Process& parent, const std::string& name) {
  return kernel_->fork_process(parent, unique_name(name));
}

int Simulation::spawn(std::string name, TaskFn body, Host* host) {
  return start(std::move(name), std::move(body), host, true);
}

int Simulation::start(std::string name, TaskFn body, Host* host, bool staged) {
  Kernel& kernel = *kernel_;
  Process& process = create_process(std::move(name), host);
  restarts_->remember(process.pid(), body);
  auto task = std::make_unique<FiberTask>(
      kernel.next_task_id(), process, process.name(),
      [&kernel, body = std::move(body)](Task& self) { run_task_body(kernel, self, body); });
  kernel.add_task(std::move(task), staged);
  return process.pid();
}

RunResult Simulation::run() {
  // The last process spawned before the run: a restarted one comes after it, and a
  // cassette's services (made after the spawns, as simrun makes them) are no program.
  const Process* spawned = nullptr;
  for (const auto& process : kernel_->processes())
    if (!process->played_by_netsim()) spawned = process.get();
  if (!spawned) throw std::logic_error("nothing to run: spawn() a process before run()");
  if (ran_) throw std::logic_error("run() was called already: make a new Simulation to run again");
  ran_ = true;
  const Process& last = *spawned;
  const auto stop = kernel_->scheduler().run([&] { return last.exited() || stop_requested_; });
  if (stop == Scheduler::Stop::deadlock) {
    const std::string report =
        fmt::format("deadlock at {:.6f}s: every task is blocked and no timer is pending\n{}",
                    static_cast<double>(kernel_->clock().elapsed()) / kSecond,
                    kernel_->describe_waits());
    kernel_->trace().record(EventKind::deadlock, kernel_->clock().elapsed()).data = report;
    stop_all(false);
    throw DeadlockError(report);
  }
  if (!stop_requested_) {
    deliver_in_flight([&] { return stop_requested_.load(); });
    kernel_->scheduler().drain(kDrainTurns);
  }
  RunResult result;
  result.elapsed = kernel_->clock().elapsed();
  // A stop() (Ctrl-C, an error ending the run) is no end of the run to announce.
  const std::vector<int> killed = stop_all(!stop_requested_);
  for (const auto& process : kernel_->processes()) {
    if (process->played_by_netsim()) continue;
    const bool was_killed = std::find(killed.begin(), killed.end(), process->pid()) != killed.end();
    result.processes.push_back(
        {process->pid(), process->name(), process->exit_status().value_or(kKilledStatus), was_killed});
  }
  result.exit_status = result.processes.back().status;
  return result;
}

void Simulation::deliver_in_flight(const std::function<bool()>& stop) {
  const Nanos last = kernel_->links().last_arrival();
  if (last <= kernel_->clock().elapsed()) return;
  bool arrived = false;
  // Set after every delivery due by then, so it fires after them.
  const Scheduler::CallKey key = kernel_->scheduler().call_at(last, [&arrived] { arrived = true; });
  kernel_->scheduler().run([&] { return arrived || stop(); });
  kernel_->scheduler().cancel_call(key);
}

std::string stop_line(std::string_view signal) {
  return fmt::format("netsim: stopped by {} at the end of the run\n", signal);
}

std::vector<int> Simulation::stop_all(bool announce) {
  // As simrun's end of a run (its SIGTERM to a program without a handler): whatever
  // still runs is stopped, its stack unwound and its sockets closed, in pid order,
  // each with the same line on its stderr.
  std::vector<int> killed;
  // Nothing in flight arrives and no fault fires once the run is over.
  kernel_->scheduler().forget_calls();
  for (const auto& process : kernel_->processes()) {
    if (process->exited()) continue;
    killed.push_back(process->pid());
    // Said by its main thread, or the first still there, as Linux delivers the signal.
    const auto& tasks = process->tasks();
    const auto target =
        std::find_if(tasks.begin(), tasks.end(), [](const Task* task) { return task->state() != TaskState::done; });
    if (announce && !process->played_by_netsim() && target != tasks.end()) kernel_->emit_notice(**target, stop_line("SIGTERM"));
    Event& event = kernel_->trace().record(EventKind::kill, kernel_->clock().elapsed());
    event.pid = process->pid();
    event.value = SIGTERM;
    for (Task* task : process->tasks()) kernel_->scheduler().cancel(*task);
  }
  kernel_->scheduler().run([] { return false; });
  // A process whose first task never started has nobody to end it.
  for (const auto& process : kernel_->processes())
    if (!process->exited()) kernel_->exit_process(*process, kKilledStatus);
  return killed;
}

std::string Simulation::transcript() const {
  return make_transcript(kernel_->trace(), kernel_->config().short_paths);
}

const Trace& Simulation::trace() const { return kernel_->trace(); }

}  // namespace netsim
