// eventfd(2) on the simulated kernel. The counter lives in a Socket so that every
// descriptor call (dup, close, fcntl, poll, fork's sharing) treats it like one.
#include "eventfd.hpp"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "blocking.hpp"
#include "net.hpp"

namespace netsim {
namespace {

// Linux keeps the counter below this; UINT64_MAX itself is never a valid write.
constexpr std::uint64_t kMaxCounter = 0xfffffffffffffffeULL;

}  // namespace

long Kernel::eventfd(Task& self, unsigned initval, int flags, int at) {
  begin_call(self);
  if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) return result(self, -1, -EINVAL, "eventfd");
  auto event = std::make_shared<Socket>();
  event->id = net_->next_socket_id();
  event->host = &self.process().host();
  event->eventfd = true;
  event->stream = false;
  event->semaphore = (flags & EFD_SEMAPHORE) != 0;
  event->nonblocking = (flags & EFD_NONBLOCK) != 0;
  event->counter = initval;
  return result(self, -1, install(self.process(), std::move(event), at), "eventfd");
}

long eventfd_read(Kernel& kernel, Task& self, int fd, Socket& event, char* out, std::size_t size) {
  if (size < sizeof(std::uint64_t)) return -EINVAL;
  while (event.counter == 0)
    if (const long err = wait_for(kernel, self, event, "read", fd, event.nonblocking)) return err;
  const std::uint64_t value = event.semaphore ? 1 : event.counter;
  event.counter -= value;
  // A writer may be waiting for room.
  event.waiters.notify_all();
  std::memcpy(out, &value, sizeof value);
  return sizeof value;
}

long eventfd_write(Kernel& kernel, Task& self, int fd, Socket& event, std::string_view data) {
  if (event.timerfd) return -EINVAL;
  std::uint64_t value = 0;
  if (data.size() < sizeof value) return -EINVAL;
  std::memcpy(&value, data.data(), sizeof value);
  if (value > kMaxCounter) return -EINVAL;
  while (kMaxCounter - event.counter < value)
    if (const long err = wait_for(kernel, self, event, "write", fd, event.nonblocking)) return err;
  event.counter += value;
  if (value) event.waiters.notify_all();
  return sizeof value;
}

short eventfd_readiness(const Socket& event) {
  short state = 0;
  if (event.counter > 0) state |= POLLIN;
  if (event.counter < kMaxCounter && !event.timerfd) state |= POLLOUT;
  return state;
}

}  // namespace netsim
