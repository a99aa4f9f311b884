// Process trees: a forked child shares its parent's descriptors (a pipe's reader sees
// end of file only once both copies of the writer are closed), and its parent waits
// for its exit status, once.
#include <sys/wait.h>

#include <cerrno>
#include <memory>
#include <string>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

TEST_CASE("fork: the child shares descriptors; the parent waits for its status", "[process]") {
  Simulation sim;
  std::string got;
  int waited = 0;
  int status = -1;
  int child_pid = 0;
  int parent_of_child = 0;
  long second_wait = 0;
  long early = -1;
  sim.spawn("parent", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    REQUIRE(kernel.socketpair(self, SOCK_STREAM, 10, 11) == 0);
    Process& child = fork_with(sys, [](Sys& s) {
      s.kernel().close(s.task(), 10);
      s.kernel().sendto(s.task(), 11, "hi", 2, 0, nullptr);
      s.kernel().close(s.task(), 11);
      s.sleep(kMillisecond);
      s.kernel().exit_process(s.task().process(), 3);
    });
    child_pid = child.pid();
    parent_of_child = child.parent();
    int ignored = 0;
    early = kernel.wait_child(self, -1, true, &ignored);
    kernel.close(self, 11);
    char buffer[8];
    for (;;) {
      const long n = kernel.recvfrom(self, 10, buffer, sizeof buffer, 0, nullptr);
      if (n <= 0) break;
      got.append(buffer, static_cast<std::size_t>(n));
    }
    waited = static_cast<int>(kernel.wait_child(self, -1, false, &status));
    second_wait = kernel.wait_child(self, child_pid, false, &ignored);
  });
  run_checked(sim);
  CHECK(got == "hi");
  CHECK(early == 0);
  CHECK(parent_of_child == kFirstPid);
  CHECK(waited == child_pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(second_wait == -ECHILD);
  CHECK(sim.kernel().find_process(child_pid)->name() == "child");
}

TEST_CASE("fork: a child killed by a signal reports it; a process without children gets ECHILD",
          "[process]") {
  Simulation sim;
  int status = 0;
  long lonely = 0;
  sim.spawn("parent", [&](Sys& sys) {
    Kernel& kernel = sys.kernel();
    int ignored = 0;
    lonely = kernel.wait_child(sys.task(), -1, false, &ignored);
    fork_with(sys, [](Sys& s) { s.kernel().exit_process(s.task().process(), 128 + 9, 9); });
    kernel.wait_child(sys.task(), -1, false, &status);
  });
  run_checked(sim);
  CHECK(lonely == -ECHILD);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == 9);
}
