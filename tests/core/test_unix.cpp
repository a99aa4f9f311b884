// Unix-domain sockets: names (paths, abstract, autobind) shared by the whole
// simulation, streams that meet through a listener's backlog, datagrams that carry
// their sender's name and make the sender wait rather than drop. Expected errors are
// those this VM's Linux gives for the same calls.
#include <cerrno>
#include <string>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

const std::string kAbstract = std::string(1, '\0') + "abstract";

int unix_socket(Sys& sys, int type) { return sys.socket(AF_UNIX, type); }

}  // namespace

TEST_CASE("unix: a stream on a path carries bytes both ways and names both ends", "[unix]") {
  Simulation sim;
  sim.spawn("server", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int listener = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.bind_unix(sys.task(), listener, "/run/echo") == 0);
    sys.listen(listener, 4);
    std::string peer = "unset";
    const long fd = kernel.accept_unix(sys.task(), listener, &peer, 0);
    REQUIRE(fd >= 0);
    CHECK(peer.empty());
    std::string name;
    CHECK(kernel.name_unix(sys.task(), static_cast<int>(fd), false, &name) == 0);
    CHECK(name == "/run/echo");
    const std::string got = sys.recv(static_cast<int>(fd), 100);
    sys.send(static_cast<int>(fd), "echo " + got);
    sys.close(static_cast<int>(fd));
  });
  sim.spawn("client", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int fd = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.connect_unix(sys.task(), fd, "/run/echo") == 0);
    std::string name = "unset";
    CHECK(kernel.name_unix(sys.task(), fd, true, &name) == 0);
    CHECK(name == "/run/echo");
    CHECK(kernel.name_unix(sys.task(), fd, false, &name) == 0);
    CHECK(name.empty());
    sys.send(fd, "hello");
    sys.print(sys.recv(fd, 100));
    CHECK(sys.recv(fd, 100).empty());
    // The peer is gone: a Unix stream fails at once, without TCP's RST round.
    CHECK(errno_of([&] { sys.send(fd, "more", MSG_NOSIGNAL); }) == EPIPE);
  });
  run_checked(sim);
  CHECK(sim.transcript() == "client: echo hello\n");
}

TEST_CASE("unix: connect errors follow Linux for missing and non-listening names", "[unix]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    const int client = unix_socket(sys, SOCK_STREAM);
    CHECK(kernel.connect_unix(self, client, "/nobody") == -ENOENT);
    CHECK(kernel.connect_unix(self, client, kAbstract) == -ECONNREFUSED);
    const int bound = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.bind_unix(self, bound, "/bound") == 0);
    CHECK(kernel.connect_unix(self, client, "/bound") == -ECONNREFUSED);
    CHECK(kernel.bind_unix(self, bound, "/other") == -EINVAL);
    const int datagram = unix_socket(sys, SOCK_DGRAM);
    REQUIRE(kernel.bind_unix(self, datagram, "/datagram") == 0);
    CHECK(kernel.connect_unix(self, client, "/datagram") == -EPROTOTYPE);
    CHECK(kernel.listen(self, unix_socket(sys, SOCK_STREAM), 1) == -EINVAL);
    CHECK(kernel.connect(self, client, loopback(80)) == -EINVAL);
    const int tcp = sys.socket(AF_INET, SOCK_STREAM);
    CHECK(kernel.bind_unix(self, tcp, "/tcp") == -EAFNOSUPPORT);
  });
  run_checked(sim);
}

TEST_CASE("unix: a closed path stays taken until unlinked while an abstract name is freed", "[unix]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    const int first = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.bind_unix(self, first, "/path") == 0);
    CHECK(kernel.bind_unix(self, unix_socket(sys, SOCK_STREAM), "/path") == -EADDRINUSE);
    sys.close(first);
    CHECK(kernel.bind_unix(self, unix_socket(sys, SOCK_STREAM), "/path") == -EADDRINUSE);
    CHECK(kernel.connect_unix(self, unix_socket(sys, SOCK_STREAM), "/path") == -ECONNREFUSED);
    CHECK(kernel.unlink_unix(self, "/path") == 0);
    CHECK(kernel.unlink_unix(self, "/path") == -ENOENT);
    CHECK(kernel.connect_unix(self, unix_socket(sys, SOCK_STREAM), "/path") == -ENOENT);
    CHECK(kernel.bind_unix(self, unix_socket(sys, SOCK_STREAM), "/path") == 0);

    const int abstract = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.bind_unix(self, abstract, kAbstract) == 0);
    CHECK(kernel.bind_unix(self, unix_socket(sys, SOCK_STREAM), kAbstract) == -EADDRINUSE);
    CHECK(kernel.unlink_unix(self, kAbstract) == -ENOENT);
    sys.close(abstract);
    CHECK(kernel.bind_unix(self, unix_socket(sys, SOCK_STREAM), kAbstract) == 0);
  });
  run_checked(sim);
}

TEST_CASE("unix: the backlog queues one more connection then connect waits or fails with EAGAIN", "[unix]") {
  Simulation sim;
  sim.spawn("server", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int listener = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.bind_unix(sys.task(), listener, "/queue") == 0);
    sys.listen(listener, 1);
    sys.sleep(1'000'000);
    for (int i = 0; i < 3; ++i) {
      const long fd = kernel.accept_unix(sys.task(), listener, nullptr, 0);
      REQUIRE(fd >= 0);
      sys.print("accepted " + sys.recv(static_cast<int>(fd), 10));
    }
  });
  sim.spawn("client", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    for (int i = 0; i < 2; ++i) {
      const int fd = unix_socket(sys, SOCK_STREAM);
      REQUIRE(kernel.connect_unix(sys.task(), fd, "/queue") == 0);
      sys.send(fd, std::to_string(i));
    }
    const int refused = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
    CHECK(kernel.connect_unix(sys.task(), refused, "/queue") == -EAGAIN);
    const int waiting = unix_socket(sys, SOCK_STREAM);
    REQUIRE(kernel.connect_unix(sys.task(), waiting, "/queue") == 0);
    sys.print("third connected after " + std::to_string(sys.monotonic()) + " ns");
    sys.send(waiting, "2");
  });
  run_checked(sim);
  CHECK(sim.transcript() ==
        "server: accepted 0\nserver: accepted 1\nclient: third connected after 1000000 ns\n"
        "server: accepted 2\n");
}

TEST_CASE("unix: names belong to the whole simulation not to a host", "[unix]") {
  Simulation sim;
  Host& other = sim.add_host("other", {Ip::v4(10, 0, 0, 2)});
  sim.spawn("server", [](Sys& sys) {
    const int listener = unix_socket(sys, SOCK_STREAM);
    REQUIRE(sys.kernel().bind_unix(sys.task(), listener, "/shared") == 0);
    sys.listen(listener, 1);
    const long fd = sys.kernel().accept_unix(sys.task(), listener, nullptr, 0);
    REQUIRE(fd >= 0);
    sys.print(sys.recv(static_cast<int>(fd), 10));
  });
  sim.spawn("remote", [](Sys& sys) {
    const int fd = unix_socket(sys, SOCK_STREAM);
    REQUIRE(sys.kernel().connect_unix(sys.task(), fd, "/shared") == 0);
    sys.send(fd, "across");
  }, &other);
  run_checked(sim);
  CHECK(sim.transcript() == "server: across\n");
}

TEST_CASE("unix: datagrams carry their sender's name and unnamed senders give none", "[unix]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    const int receiver = unix_socket(sys, SOCK_DGRAM);
    REQUIRE(kernel.bind_unix(self, receiver, "/dgram") == 0);
    const int named = unix_socket(sys, SOCK_DGRAM);
    REQUIRE(kernel.bind_unix(self, named, "/sender") == 0);
    const int unnamed = unix_socket(sys, SOCK_DGRAM);
    CHECK(kernel.sendto_unix(self, named, "one", 3, 0, "/dgram") == 3);
    CHECK(kernel.sendto_unix(self, unnamed, "two", 3, 0, "/dgram") == 3);
    CHECK(kernel.sendto_unix(self, unnamed, "x", 1, 0, "/nobody") == -ENOENT);
    char buffer[16];
    std::string from;
    CHECK(kernel.recvfrom_unix(self, receiver, buffer, 2, MSG_TRUNC, &from) == 3);
    CHECK(from == "/sender");
    CHECK(kernel.recvfrom_unix(self, receiver, buffer, sizeof buffer, 0, &from) == 3);
    CHECK(from.empty());
    std::string name;
    CHECK(kernel.name_unix(self, unnamed, false, &name) == 0);
    CHECK(name.empty());
    CHECK(kernel.sendto(self, unnamed, "x", 1, 0, nullptr) == -ENOTCONN);
  });
  run_checked(sim);
}

TEST_CASE("unix: autobind takes an abstract name of five hex digits from the seed", "[unix]") {
  auto autobound = [](std::uint64_t seed) {
    Config config;
    config.seed = seed;
    Simulation sim(config);
    std::string name;
    sim.spawn("p", [&](Sys& sys) {
      const int fd = unix_socket(sys, SOCK_DGRAM);
      REQUIRE(sys.kernel().bind_unix(sys.task(), fd, "") == 0);
      REQUIRE(sys.kernel().name_unix(sys.task(), fd, false, &name) == 0);
    });
    run_checked(sim);
    return name;
  };
  const std::string name = autobound(1);
  REQUIRE(name.size() == 6);
  CHECK(name[0] == '\0');
  CHECK(name.find_first_not_of("0123456789abcdef", 1) == std::string::npos);
  CHECK(autobound(1) == name);
  CHECK(autobound(2) != name);
}

TEST_CASE("unix: a full datagram queue makes the sender wait until the receiver reads", "[unix]") {
  Simulation sim;
  sim.spawn("receiver", [](Sys& sys) {
    const int fd = unix_socket(sys, SOCK_DGRAM);
    REQUIRE(sys.kernel().bind_unix(sys.task(), fd, "/full") == 0);
    sys.sleep(1'000'000);
    for (int i = 0; i < 12; ++i) sys.recv(fd, 10);
    sys.print("read 12");
  });
  sim.spawn("sender", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const int fd = unix_socket(sys, SOCK_DGRAM);
    for (int i = 0; i < 11; ++i) REQUIRE(kernel.sendto_unix(sys.task(), fd, "d", 1, 0, "/full") == 1);
    CHECK(kernel.sendto_unix(sys.task(), fd, "d", 1, MSG_DONTWAIT, "/full") == -EAGAIN);
    REQUIRE(kernel.sendto_unix(sys.task(), fd, "d", 1, 0, "/full") == 1);
    sys.print("twelfth sent after " + std::to_string(sys.monotonic()) + " ns");
  });
  run_checked(sim);
  CHECK(sim.transcript() == "sender: twelfth sent after 1000000 ns\nreceiver: read 12\n");
}

TEST_CASE("unix: connected datagram sockets refuse strangers and learn their peer closed", "[unix]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    Task& self = sys.task();
    const int a = unix_socket(sys, SOCK_DGRAM);
    const int b = unix_socket(sys, SOCK_DGRAM);
    REQUIRE(kernel.bind_unix(self, a, "/a") == 0);
    REQUIRE(kernel.bind_unix(self, b, "/b") == 0);
    REQUIRE(kernel.connect_unix(self, a, "/b") == 0);
    const int stranger = unix_socket(sys, SOCK_DGRAM);
    CHECK(kernel.sendto_unix(self, stranger, "x", 1, 0, "/a") == -EPERM);
    CHECK(kernel.sendto(self, a, "hi", 2, 0, nullptr) == 2);
    std::string from;
    char buffer[8];
    CHECK(kernel.recvfrom_unix(self, b, buffer, sizeof buffer, 0, &from) == 2);
    CHECK(from == "/a");
    sys.close(b);
    CHECK(kernel.sendto(self, a, "x", 1, 0, nullptr) == -ECONNREFUSED);
    CHECK(kernel.sendto(self, a, "x", 1, 0, nullptr) == -ENOTCONN);
  });
  run_checked(sim);
}

TEST_CASE("unix: a datagram socket pair keeps message boundaries", "[unix]") {
  Simulation sim;
  sim.spawn("p", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    REQUIRE(kernel.socketpair(sys.task(), SOCK_DGRAM, 100, 101) == 0);
    sys.send(100, "one");
    sys.send(100, "two");
    sys.send(101, "back");
    CHECK(sys.recv(101, 100) == "one");
    CHECK(sys.recv(101, 100) == "two");
    CHECK(sys.recv(100, 100) == "back");
    CHECK(sys.getsockopt(100, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM);
    CHECK(sys.getsockopt(100, SOL_SOCKET, SO_DOMAIN) == AF_UNIX);
    sys.close(101);
    CHECK(errno_of([&] { sys.send(100, "x"); }) == ECONNREFUSED);
  });
  run_checked(sim);
}
