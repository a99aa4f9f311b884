// Socket pairs (socketpair(AF_UNIX), and what Kernel::pipe builds on) and scripted
// input (a process's stdin): streams with no address.
#include <cerrno>
#include <string>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

TEST_CASE("pairs: a socket pair carries bytes both ways and ends with EOF", "[pairs]") {
  Simulation sim;
  sim.spawn("pair", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    REQUIRE(kernel.socketpair(sys.task(), SOCK_STREAM, 100, 101) == 0);
    sys.spawn_thread("other", [](Sys& s) {
      s.print("other got " + s.recv(101, 100));
      s.send(101, "pong");
      s.close(101);
    });
    sys.send(100, "ping");
    sys.print("got " + sys.recv(100, 100));
    sys.print("then " + std::to_string(sys.recv(100, 100).size()) + " bytes (EOF)");
  });
  run_checked(sim);
  CHECK(sim.transcript() == "pair: other got ping\npair: got pong\npair: then 0 bytes (EOF)\n");
}

TEST_CASE("pairs: socketpair refuses a number already in use", "[pairs]") {
  Simulation sim;
  sim.spawn("pair", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    REQUIRE(kernel.socketpair(sys.task(), SOCK_STREAM, 100, 101) == 0);
    CHECK(kernel.socketpair(sys.task(), SOCK_STREAM, 101, 102) == -EBADF);
    CHECK(kernel.socketpair(sys.task(), SOCK_STREAM, 103, 103) == -EBADF);
  });
  run_checked(sim);
}

TEST_CASE("pairs: a non-blocking pair answers EAGAIN while empty", "[pairs]") {
  Simulation sim;
  sim.spawn("pair", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    REQUIRE(kernel.socketpair(sys.task(), SOCK_STREAM | SOCK_NONBLOCK, 100, 101) == 0);
    char byte;
    CHECK(kernel.recvfrom(sys.task(), 100, &byte, 1, 0, nullptr) == -EAGAIN);
  });
  run_checked(sim);
}

TEST_CASE("pairs: scripted input reads its bytes then EOF and refuses writes", "[pairs]") {
  Simulation sim;
  Process& process = sim.create_process("reader");
  sim.kernel().install_input(process, 0, "line one\nline two\n");
  sim.kernel().add_task(
      std::make_unique<FiberTask>(sim.kernel().next_task_id(), process, "reader",
                                  [&](Task& self) {
                                    run_task_body(sim.kernel(), self, [](Sys& sys) {
                                      sys.print("read " + std::to_string(sys.recv(0, 5).size()));
                                      sys.print("rest " + sys.recv(0, 100));
                                      sys.print("then " + std::to_string(sys.recv(0, 100).size()));
                                      CHECK(errno_of([&] { sys.send(0, "x"); }) == EPIPE);
                                    });
                                  }),
      true);
  run_checked(sim);
  CHECK(sim.transcript() ==
        "reader: read 5\nreader: rest one\nreader: line two\nreader: \nreader: then 0\n");
}
