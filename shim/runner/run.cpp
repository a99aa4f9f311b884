// run_commands: the whole of a simrun run, from starting the children to the report.
#include <fmt/format.h>
#include <signal.h>
#include <string.h>

#include <fstream>
#include <stdexcept>

#include "netsim/shim/run.hpp"
#include "runner.hpp"

namespace netsim::shim {
namespace {

// As Simulation::run: enough for servers to answer what the last process left them.
constexpr std::size_t kDrainTurns = 10'000;

std::string outcome(const RemoteProcess& remote, bool aborted) {
  const int status = remote.process->exit_status().value_or(0);
  if (remote.stopped_by == SIGKILL || (aborted && remote.reaped_signal == SIGKILL))
    return "killed (SIGKILL) at the end of the run";
  if (remote.stopped_by)
    return fmt::format("stopped by {} at the end of the run, status {}", signal_name(remote.stopped_by),
                       status);
  if (remote.reaped_signal) return fmt::format("killed by {}", signal_name(remote.reaped_signal));
  return fmt::format("exited with status {}", status);
}

void write_trace(const Trace& trace, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write the trace to '" + path + "': " + strerror(errno));
  std::uint64_t seq = 0;
  for (const Event& event : trace.events()) out << Trace::to_json(event, ++seq) << '\n';
}

}  // namespace

RunReport run_commands(const std::vector<Command>& commands, const RunOptions& options) {
  if (commands.empty()) throw std::invalid_argument("nothing to run: give at least one command");
  Simulation simulation(options.config);
  simulation.apply(options.scenario);
  Kernel& kernel = simulation.kernel();
  Scheduler& scheduler = kernel.scheduler();
  Runner runner(simulation, options);
  for (const Command& command : commands) runner.start(command);
  // The processes they fork come after them, and stay out of the report.
  const std::size_t started = runner.processes().size();
  std::optional<cassette::Deck> deck;
  if (options.cassette) deck.emplace(simulation, *options.cassette);

  RunReport report;
  const Process& last = *runner.processes().back()->process;
  const auto stop = scheduler.run([&] { return last.exited() || runner.aborting(); });
  if (stop == Scheduler::Stop::deadlock) {
    report.deadlock = true;
    report.problem =
        fmt::format("deadlock at {:.6f}s: every task is blocked and no timer is pending\n{}",
                    static_cast<double>(kernel.clock().elapsed()) / kSecond, kernel.describe_waits());
    kernel.trace().record(EventKind::deadlock, kernel.clock().elapsed()).data = report.problem;
  } else if (!runner.aborting()) {
    simulation.deliver_in_flight([&] { return runner.aborting(); });
    scheduler.drain(kDrainTurns);
  }
  // Stopping a process may make it fork: the list grows meanwhile.
  for (std::size_t i = 0; i < runner.processes().size(); ++i) runner.stop(*runner.processes()[i]);
  if (deck) deck->stop();
  runner.finish();
  if (deck) report.cassette = std::move(deck->outcome());

  if (runner.aborting()) report.problem = runner.problem();
  report.interrupted = runner.interrupted();
  report.warning = runner.sandbox_warning();
  report.unsupported = runner.unsupported();
  report.timed_out = runner.timed_out();
  for (std::size_t i = 0; i < started; ++i) {
    const RemoteProcess* remote = runner.processes()[i].get();
    const Process& process = *remote->process;
    report.processes.push_back({process.name(), process.pid(), process.exit_status().value_or(0),
                                outcome(*remote, runner.aborting()), remote->stopped_by != 0});
  }
  report.exit_status = report.processes.back().status;
  report.transcript = simulation.transcript();
  if (!options.trace_path.empty()) write_trace(kernel.trace(), options.trace_path);
  report.trace = std::move(kernel.trace());
  return report;
}

}  // namespace netsim::shim
