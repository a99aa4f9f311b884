#pragma once
// Running real programs on the simulated network: what `simrun` does. Each command
// is started as a child process with the shim preloaded; its threads become remote
// tasks of the core, served over the channel (channel.hpp).
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "netsim/cassette.hpp"
#include "netsim/config.hpp"
#include "netsim/trace.hpp"
#include "netsim/scenario.hpp"

namespace netsim::shim {

struct Command {
  std::string name;               // the transcript's prefix; made unique like spawn()'s
  std::vector<std::string> argv;  // argv[0] is looked up on PATH when it has no '/'
  // The program's stdin: these bytes, then end of file, through a simulated stream.
  // None: /dev/null.
  std::optional<std::string> input;
};

struct RunOptions {
  Config config;           // seed, policy, epoch, call_cost...
  std::string shim_path;   // the preload library, libnetsim_shim.so
  std::vector<std::string> env;  // the children's environment, "NAME=value"
  // Wall-clock watchdog: a run still going after this many seconds is stopped and
  // the program that was running is named. None: no limit.
  std::optional<double> timeout_seconds;
  std::string trace_path;  // the event trace as JSON lines; empty: none
  // What stops the processes still running when the last command ends (then SIGTERM,
  // then SIGKILL). SIGTERM: a program's handler runs, one without ends silently;
  // SIGINT shows what a terminal's Ctrl-C would (Python's KeyboardInterrupt).
  int stop_signal = SIGTERM;
  // Hosts, links and faults (--scenario, --host, --latency...). A program is placed on
  // a host by its command's name; a killed program restarted by a fault runs its
  // command again under the same name.
  Scenario scenario;
  // Services recorded or played back (--record, --replay; docs/cassettes.md).
  std::optional<cassette::Options> cassette;
};

struct ProcessReport {
  std::string name;
  int pid = 0;          // virtual
  int status = 0;       // as a shell reports it: the exit code, or 128 + signal
  // "exited with status 0", "killed by SIGSEGV", "stopped by SIGINT at the end of the
  // run, status 130"...
  std::string outcome;
  bool stopped = false;  // still running when the last command ended, so simrun stopped it
};

struct RunReport {
  std::string transcript;  // bytes, exactly as printed: may not be UTF-8
  int exit_status = 0;     // of the last command
  std::vector<ProcessReport> processes;  // in command order
  // Why the run ended early, for simrun to print: the deadlock report, the watchdog's
  // message, the interruption. Empty when the last command ended on its own.
  std::string problem;
  bool deadlock = false;
  bool timed_out = false;
  bool interrupted = false;  // simrun got SIGINT or SIGTERM
  // The calls netsim does not simulate that the programs made (they failed with
  // ENOSYS), each once, for simrun's stderr: "NAME: what (the call failed with ENOSYS)".
  std::vector<std::string> unsupported;
  // Why the run went without the kernel's backstop (no namespaces), for one line on
  // stderr; empty when it had it.
  std::string warning;
  cassette::Outcome cassette;  // the services' connections, when RunOptions::cassette is set
  Trace trace;  // every event of the run, for the outputs derived from it (pcap, diagrams)
};

// Runs the commands (in order, each once every earlier one is blocked) until the last
// ends, stops the others (RunOptions::stop_signal, then harder), and returns what
// happened. Throws std::runtime_error when a command cannot be started.
RunReport run_commands(const std::vector<Command>& commands, const RunOptions& options);

}  // namespace netsim::shim
