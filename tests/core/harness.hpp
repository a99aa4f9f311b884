#pragma once
// Shared helpers for the core tests.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "netsim/errors.hpp"
#include "netsim/fiber_task.hpp"
#include "netsim/simulation.hpp"

namespace netsim::test {

inline const Ip kLoopback = Ip::v4(127, 0, 0, 1);

inline Address loopback(std::uint16_t port) { return {kLoopback, port}; }

// The errno a Sys call fails with, or 0 when it succeeds.
inline int errno_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

// A listening TCP socket on 127.0.0.1:port.
inline int listen_on(Sys& sys, std::uint16_t port, int backlog = 16) {
  const int fd = sys.socket(AF_INET, SOCK_STREAM);
  sys.bind(fd, loopback(port));
  sys.listen(fd, backlog);
  return fd;
}

// A TCP socket connected to 127.0.0.1:port.
inline int connect_to(Sys& sys, std::uint16_t port) {
  const int fd = sys.socket(AF_INET, SOCK_STREAM);
  sys.connect(fd, loopback(port));
  return fd;
}

// Runs the simulation; a task that died of an unexpected netsim::Error shows up as an
// "uncaught exception" line, which fails the test with the whole transcript.
inline RunResult run_checked(Simulation& sim) {
  RunResult result = sim.run();
  const std::string transcript = sim.transcript();
  INFO("transcript:\n" << transcript);
  CHECK(transcript.find("uncaught exception") == std::string::npos);
  return result;
}

// Forks the calling process; the child's only task runs `body`.
inline Process& fork_with(Sys& sys, const TaskFn& body) {
  Kernel& kernel = sys.kernel();
  Process& child = kernel.fork_process(sys.task().process(), "child");
  auto task = std::make_unique<FiberTask>(kernel.next_task_id(), child, child.name(),
                                          [&kernel, body](Task& self) { run_task_body(kernel, self, body); });
  kernel.add_task(std::move(task), false);
  return child;
}

}  // namespace netsim::test
