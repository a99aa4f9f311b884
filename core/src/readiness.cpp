// poll(), and the readiness of each kind of descriptor that poll and epoll ask.
#include "readiness.hpp"

#include <memory>
#include <vector>

#include "datagram.hpp"
#include "epoll.hpp"
#include "eventfd.hpp"
#include "netsim/kernel.hpp"
#include "stream.hpp"

namespace netsim {

short readiness(const Socket& socket) {
  if (socket.epoll) return epoll_readiness(socket);
  if (socket.eventfd) return eventfd_readiness(socket);
  return socket.stream ? stream_readiness(socket) : datagram_readiness(socket);
}

long Kernel::poll(Task& self, std::span<pollfd> fds, std::optional<Nanos> timeout) {
  begin_call(self);
  const std::optional<Nanos> deadline =
      timeout ? std::optional<Nanos>(clock_.elapsed() + *timeout) : std::nullopt;
  std::vector<std::shared_ptr<Socket>> sockets;
  sockets.reserve(fds.size());
  for (;;) {
    sockets.clear();
    long ready = 0;
    for (pollfd& entry : fds) {
      entry.revents = 0;
      if (entry.fd < 0) {  // ignored, as poll(2) does with negative descriptors
        sockets.push_back(nullptr);
        continue;
      }
      std::shared_ptr<Socket> socket = lookup(self, entry.fd);
      // Errors and hang-ups are reported whether asked for or not.
      const short always = POLLERR | POLLHUP | POLLNVAL;
      const short state = socket ? readiness(*socket) : POLLNVAL;
      entry.revents = static_cast<short>(state & (entry.events | always));
      if (entry.revents) ++ready;
      sockets.push_back(std::move(socket));
    }
    if (ready) return ready;
    if (timeout && *timeout <= 0) {
      scheduler_.spin(self);
      return 0;
    }
    std::vector<WaitQueue*> queues;
    for (const auto& socket : sockets)
      if (socket) queues.push_back(&socket->waiters);
    Wait wait{"poll"};
    wait.fds = fds.data();
    wait.nfds = fds.size();
    if (!scheduler_.block(self, wait, queues, deadline)) return 0;  // timed out
  }
}

}  // namespace netsim
