// What a descriptor is, as fstat, lseek and ioctl(FIONREAD/SIOCOUTQ) see it: the
// expected figures are a native run's (Linux 6.x: a C program that makes each kind
// and asks), and every question is a pure read: it leaves no trace event.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "harness.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {
using FileKind = Kernel::FileKind;
long kind(FileKind k) { return static_cast<long>(k); }
}  // namespace

TEST_CASE("file kinds: pipes are FIFOs, sockets sockets, eventfd an anonymous inode", "[file_kind]") {
  Simulation sim;
  sim.spawn("kinds", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const Process& process = sys.task().process();
    int pipe[2] = {-1, -1};
    REQUIRE(kernel.pipe(sys.task(), 0, pipe) == 0);
    const int pair0 = 10, pair1 = 11;
    REQUIRE(kernel.socketpair(sys.task(), SOCK_DGRAM, pair0, pair1) == 0);
    const int tcp = sys.socket(AF_INET, SOCK_STREAM);
    const int udp = sys.socket(AF_INET, SOCK_DGRAM);
    const int event = static_cast<int>(kernel.eventfd(sys.task(), 0, 0));
    const int timer = static_cast<int>(kernel.timerfd_create(sys.task(), CLOCK_MONOTONIC, 0));

    CHECK(kernel.file_kind(process, pipe[0]) == kind(FileKind::pipe));
    CHECK(kernel.file_kind(process, pipe[1]) == kind(FileKind::pipe));
    CHECK(kernel.file_kind(process, pair0) == kind(FileKind::unix_datagram));
    CHECK(kernel.file_kind(process, tcp) == kind(FileKind::tcp));
    CHECK(kernel.file_kind(process, udp) == kind(FileKind::udp));
    CHECK(kernel.file_kind(process, event) == kind(FileKind::eventfd));
    CHECK(kernel.file_kind(process, timer) == kind(FileKind::timerfd));
    CHECK(kernel.file_kind(process, 99) == -EBADF);

    // Native: pipe 010600, sockets 0140777, eventfd and timerfd 0600.
    CHECK(kernel.file_mode(process, pipe[0]) == (S_IFIFO | 0600));
    CHECK(kernel.file_mode(process, tcp) == (S_IFSOCK | 0777));
    CHECK(kernel.file_mode(process, pair0) == (S_IFSOCK | 0777));
    CHECK(kernel.file_mode(process, event) == 0600);
    CHECK(kernel.file_mode(process, timer) == 0600);

    // Native: lseek is ESPIPE on pipes and sockets, 0 on eventfd and timerfd.
    CHECK(kernel.seek(process, pipe[1]) == -ESPIPE);
    CHECK(kernel.seek(process, udp) == -ESPIPE);
    CHECK(kernel.seek(process, event) == 0);
    CHECK(kernel.seek(process, timer) == 0);
    CHECK(kernel.seek(process, 99) == -EBADF);
  });
  run_checked(sim);
}

TEST_CASE("file kinds: FIONREAD and SIOCOUTQ read the buffers and leave no trace event", "[file_kind]") {
  Simulation sim;
  sim.spawn("queues", [](Sys& sys) {
    Kernel& kernel = sys.kernel();
    const Process& process = sys.task().process();
    int pipe[2] = {-1, -1};
    REQUIRE(kernel.pipe(sys.task(), 0, pipe) == 0);
    sys.send(pipe[1], "abc");
    const int pair0 = 10, pair1 = 11;
    REQUIRE(kernel.socketpair(sys.task(), SOCK_DGRAM, pair0, pair1) == 0);
    sys.send(pair1, "hi");
    sys.send(pair1, "there");
    const int listener = sys.socket(AF_INET, SOCK_STREAM);
    sys.bind(listener, loopback(7000));
    sys.listen(listener, 1);
    const int event = static_cast<int>(kernel.eventfd(sys.task(), 0, 0));

    const std::size_t events = kernel.trace().events().size();
    // Native: 3 on both ends of the pipe (one buffer), 2 (the next datagram only),
    // EINVAL on a listening socket, ENOTTY on eventfd.
    CHECK(kernel.bytes_readable(process, pipe[0]) == 3);
    CHECK(kernel.bytes_readable(process, pipe[1]) == 3);
    CHECK(kernel.bytes_readable(process, pair0) == 2);
    CHECK(kernel.bytes_readable(process, listener) == -EINVAL);
    CHECK(kernel.bytes_readable(process, event) == -ENOTTY);
    CHECK(kernel.bytes_readable(process, 99) == -EBADF);
    // Native: ENOTTY on pipes and eventfd, EINVAL listening, 0 once delivered.
    CHECK(kernel.bytes_unsent(process, pipe[1]) == -ENOTTY);
    CHECK(kernel.bytes_unsent(process, event) == -ENOTTY);
    CHECK(kernel.bytes_unsent(process, listener) == -EINVAL);
    CHECK(kernel.bytes_unsent(process, pair1) == 0);
    CHECK(kernel.trace().events().size() == events);
    CHECK(sys.recv(pipe[0], 10) == "abc");
    CHECK(kernel.bytes_readable(process, pipe[0]) == 0);
  });
  run_checked(sim);
}
