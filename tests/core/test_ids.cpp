// Process and thread ids, one numbering as on Linux (a process's pid is its first
// thread's id; every later process or thread takes the next id), and kill(2)'s
// targets and default actions between simulated processes.
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

// The ids a run hands out: "pid:tid ppid" per task, sorted (which task runs first is
// the scheduler's business), then what the lookups answer.
std::vector<std::string> ids_of_a_run() {
  Simulation sim;
  std::vector<std::string> seen;
  auto note = [&seen](Sys& s) {
    seen.push_back(std::to_string(s.task().process().pid()) + ":" + std::to_string(s.task().tid()) + " ppid " +
                   std::to_string(s.task().process().ppid()));
  };
  std::vector<std::string> lookups;
  sim.spawn("first", [&](Sys& sys) {
    note(sys);
    sys.spawn_thread("worker", [&](Sys& s) {
      note(s);
      s.sleep(kMillisecond);
    });
    fork_with(sys, [&](Sys& s) {
      note(s);
      s.spawn_thread("grandworker", note);
      s.sleep(kMillisecond);
    });
    sys.sleep(kMicrosecond);
    Kernel& kernel = sys.kernel();
    lookups.push_back("thread 1002 of " + std::to_string(kernel.find_thread(1002)->process().pid()));
    lookups.push_back(std::string("process 1002: ") + (kernel.find_process(1002) ? "yes" : "none"));
    lookups.push_back("process 1003: " + kernel.find_process(1003)->name());
    sys.sleep(2 * kMillisecond);
  });
  sim.spawn("second", [&](Sys& s) {
    note(s);
    s.sleep(kSecond);  // the run lasts until the last spawned process exits
  });
  run_checked(sim);
  std::sort(seen.begin(), seen.end());
  seen.insert(seen.end(), lookups.begin(), lookups.end());
  return seen;
}

}  // namespace

TEST_CASE("ids: pids and thread ids are one numbering, in the order they are made", "[ids]") {
  const std::vector<std::string> seen = ids_of_a_run();
  // first and second are made before the run; then first's worker, its child, the
  // child's thread.
  CHECK(seen == std::vector<std::string>{"1000:1000 ppid 1", "1000:1002 ppid 1", "1001:1001 ppid 1",
                                         "1003:1003 ppid 1000", "1003:1004 ppid 1000", "thread 1002 of 1000",
                                         "process 1002: none", "process 1003: child"});
  for (int run = 0; run < 3; ++run) CHECK(ids_of_a_run() == seen);
}

TEST_CASE("ids: an ended thread's id names nobody; an orphan's parent is init", "[ids]") {
  Simulation sim;
  int orphan_ppid = 0;
  bool thread_gone = false;
  sim.spawn("parent", [&](Sys& sys) {
    sys.spawn_thread("worker", [](Sys&) {});  // tid 1002, after the bystander's pid
    sys.sleep(kMicrosecond);
    thread_gone = sys.kernel().find_thread(1002) == nullptr;
    fork_with(sys, [&](Sys& s) {
      s.sleep(kMillisecond);  // its parent has exited by now
      orphan_ppid = s.task().process().ppid();
    });
  });
  sim.spawn("bystander", [](Sys& sys) { sys.sleep(2 * kMillisecond); });  // the run goes on
  run_checked(sim);
  CHECK(thread_gone);
  CHECK(orphan_ppid == 1);
}

TEST_CASE("kill: whom a pid, a thread id or a group reaches; nobody else", "[ids][signals]") {
  Simulation sim;
  std::vector<long> answers;
  std::vector<std::vector<int>> reached;
  sim.spawn("caller", [&](Sys& sys) {
    sys.spawn_thread("worker", [](Sys& s) { s.sleep(kSecond); });  // tid 1002
    sys.sleep(kMicrosecond);
    Kernel& kernel = sys.kernel();
    const Process& caller = sys.task().process();
    const auto ask = [&](int pid, int signal, int group) {
      std::vector<Process*> out;
      answers.push_back(kernel.signal_targets(caller, pid, signal, group, out));
      std::vector<int> pids;
      for (const Process* p : out) pids.push_back(p->pid());
      reached.push_back(pids);
    };
    ask(1001, SIGTERM, 0);     // a process
    ask(1002, SIGTERM, 0);     // a thread: its process
    ask(1002, SIGTERM, 1001);  // tgkill with the wrong process
    ask(1002, SIGTERM, 1000);
    ask(1, SIGTERM, 0);        // not simulated: whatever real process has the number
    ask(4242, 0, 0);
    ask(-1, SIGTERM, 0);       // every process: nobody
    ask(1001, NSIG, 0);        // a bad signal: EINVAL, but to nobody ESRCH (as Linux)
    ask(4242, NSIG, 0);
    ask(-1001, SIGTERM, 0);    // the other's group
    ask(0, SIGTERM, 0);        // the caller's
    sys.sleep(2 * kSecond);
  });
  sim.spawn("other", [](Sys& sys) { sys.sleep(kSecond); });
  run_checked(sim);
  CHECK(answers == std::vector<long>{0, 0, -ESRCH, 0, -ESRCH, -ESRCH, -ESRCH, -EINVAL, -ESRCH, 0, 0});
  CHECK(reached == std::vector<std::vector<int>>{{1001}, {1000}, {}, {1000}, {}, {}, {}, {}, {}, {1001}, {1000}});
}

TEST_CASE("kill: default actions with the shell's line: the caller's at once, another's when it next runs",
          "[ids][signals]") {
  Simulation sim;
  long ignored = -1, unknown = 0;
  bool after_own_kill = false;
  sim.spawn("victim", [](Sys& sys) { sys.sleep(kSecond); });
  sim.spawn("killer", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    ignored = kernel.kill(sys.task(), 1000, SIGCHLD);
    unknown = kernel.kill(sys.task(), 77, SIGKILL);
    kernel.kill(sys.task(), 1000, SIGTERM);
    kernel.kill(sys.task(), 1001, SIGUSR1);
    after_own_kill = true;
  });
  const RunResult result = sim.run();
  CHECK(ignored == 0);
  CHECK(unknown == -ESRCH);
  CHECK_FALSE(after_own_kill);
  CHECK(sim.transcript() ==
        "killer: netsim: killed by SIGUSR1 (User defined signal 1)\n"
        "victim: netsim: killed by SIGTERM (Terminated)\n");
  REQUIRE(result.processes.size() == 2);
  CHECK(result.processes[0].status == 128 + SIGTERM);
  CHECK(result.processes[1].status == 128 + SIGUSR1);
}
