// Pipes (Kernel::pipe): one-way stream pairs, numbered as asked or lowest free.
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

TEST_CASE("pipe: the lowest free numbers, bytes one way, then EOF", "[pipe]") {
  Simulation sim;
  sim.spawn("pipe", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int taken = sys.socket(AF_INET, SOCK_STREAM);  // 3
    int fds[2] = {-1, -1};
    REQUIRE(kernel.pipe(sys.task(), 0, fds) == 0);
    CHECK(taken == 3);
    CHECK(fds[0] == 4);
    CHECK(fds[1] == 5);
    sys.send(fds[1], "through");
    sys.close(fds[1]);
    sys.print("read " + sys.recv(fds[0], 100));
    sys.print("then " + std::to_string(sys.recv(fds[0], 100).size()) + " bytes (EOF)");
  });
  run_checked(sim);
  CHECK(sim.transcript() == "pipe: read through\npipe: then 0 bytes (EOF)\n");
}

TEST_CASE("pipe: numbers as asked, O_NONBLOCK, and EPIPE once the reader is gone", "[pipe]") {
  Simulation sim;
  sim.spawn("pipe", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    int fds[2] = {100, 101};
    REQUIRE(kernel.pipe(sys.task(), O_NONBLOCK, fds) == 0);
    CHECK(fds[0] == 100);
    CHECK(fds[1] == 101);
    char byte = 'x';
    CHECK(kernel.recvfrom(sys.task(), 100, &byte, 1, 0, nullptr) == -EAGAIN);
    kernel.close(sys.task(), 100);
    CHECK(kernel.sendto(sys.task(), 101, &byte, 1, 0, nullptr) == -EPIPE);
  });
  run_checked(sim);
}
