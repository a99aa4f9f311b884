// Recording: the simulator's own process, not the simulated program, holds the real
// socket. Real bytes arrive in real time, which the simulation does not follow: when
// neither side has anything, the relay waits a little for the real service and then
// lets virtual time move, in growing steps, so a program waiting for a reply sees it
// after some virtual time, and one busy meanwhile is not held up. None of this timing
// is replayed (cassette_play.cpp follows the recorded order), so it needs only to be
// reasonable.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "cassette_internal.hpp"
#include "netsim/errors.hpp"

namespace netsim::cassette {
namespace {

constexpr int kRealWaitMs = 5;  // for the real service, each time both sides are quiet
constexpr Nanos kFirstStep = kMillisecond;
constexpr Nanos kLongestStep = 100 * kMillisecond;
constexpr std::size_t kChunk = 65536;

class RealSocket {
 public:
  explicit RealSocket(int fd) : fd_(fd) {}
  ~RealSocket() { ::close(fd_); }
  RealSocket(const RealSocket&) = delete;
  RealSocket& operator=(const RealSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string connect_real(const Address& real, int& fd) {
  fd = ::socket(real.ip.family == Family::inet ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("cannot make a real socket: ") + strerror(errno);
  sockaddr_storage address{};
  unsigned length = sizeof address;
  real.to_sockaddr(reinterpret_cast<sockaddr*>(&address), &length);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    const int error = errno;
    ::close(fd);
    return "cannot connect to the real service at " + real.str() + ": " + strerror(error) +
           "; is it running?";
  }
  return "";
}

bool send_real(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string relay(Sys& sys, int conn, const Address& real, Conversation& log) {
  int fd = -1;
  if (std::string problem = connect_real(real, fd); !problem.empty()) return problem;
  RealSocket socket(fd);
  bool client_open = true;
  bool service_open = true;
  Nanos step = kFirstStep;
  auto note = [&](bool from_client, std::string bytes) {
    const bool closed = bytes.empty();
    log.chunks.push_back({from_client, std::move(bytes), closed, sys.monotonic()});
  };
  while (client_open || service_open) {
    bool moved = false;
    if (client_open) {
      pollfd ready{conn, POLLIN, 0};
      if (sys.poll({&ready, 1}, 0) > 0) {
        std::string data;
        try {
          data = sys.recv(conn, kChunk);
        } catch (const Error&) {  // reset by the program: the service sees its end
        }
        if (data.empty()) {
          client_open = false;
          ::shutdown(fd, SHUT_WR);
        } else if (!send_real(fd, data)) {
          service_open = false;
        }
        note(true, std::move(data));
        moved = true;
      }
    }
    if (service_open) {
      char buffer[kChunk];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n >= 0) {
        std::string data(buffer, static_cast<std::size_t>(n));
        try {
          if (n == 0) {
            service_open = false;
            sys.shutdown(conn, SHUT_WR);
          } else {
            sys.send(conn, data);
          }
        } catch (const Error&) {  // the program is gone: nobody reads the rest
          client_open = service_open = false;
        }
        note(false, std::move(data));
        moved = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        service_open = false;
        note(false, "");
        if (client_open) sys.shutdown(conn, SHUT_WR);
      }
    }
    if (moved) {
      step = kFirstStep;
      continue;
    }
    if (service_open) {
      pollfd real_ready{fd, POLLIN, 0};
      if (::poll(&real_ready, 1, kRealWaitMs) > 0) continue;
    }
    pollfd ready{conn, POLLIN, 0};
    if (client_open) {
      // Without a real side left, only the program can end the conversation.
      sys.poll({&ready, 1}, service_open ? std::optional<Nanos>(step) : std::nullopt);
    } else {
      sys.sleep(step);
    }
    step = std::min(step * 2, kLongestStep);
  }
  return "";
}

}  // namespace netsim::cassette
