// epoll_create1, epoll_ctl and epoll_wait on the simulated kernel (epoll.hpp), with
// Linux's level-triggered, EPOLLET and EPOLLONESHOT modes. A descriptor's every
// notification queues its entries (Linux's ep_poll_callback); a wait re-checks what
// it takes off the ready list and reports only what is still ready.
#include "epoll.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

#include "net.hpp"
#include "readiness.hpp"

namespace netsim {
namespace {

// Bits that steer an entry rather than name readiness: Linux's EP_PRIVATE_BITS. An
// entry left with none but these (EPOLLONESHOT fired) is disabled until EPOLL_CTL_MOD.
constexpr std::uint32_t kPrivate = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
// What EPOLLEXCLUSIVE may come with: Linux's EPOLLEXCLUSIVE_OK_BITS.
constexpr std::uint32_t kExclusiveOk =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
// The longest chain of epoll instances inside each other: Linux's EP_MAX_NESTS (4)
// nestings, 5 instances (checked natively: tests/python/programs/epoll_check.c).
constexpr int kMaxChain = 5;

// What the entry reports now: what its descriptor is ready for, among what it asks.
std::uint32_t item_events(const EpollItem& item) {
  std::uint32_t state = static_cast<std::uint16_t>(readiness(*item.target));
  // Linux's socket and pipe poll set the *NORM spellings alongside.
  if (state & EPOLLIN) state |= EPOLLRDNORM;
  if (state & EPOLLOUT) state |= EPOLLWRNORM;
  return state & item.events & ~kPrivate;
}

// On the ready list's tail, unless it is on it already; true when it was not.
bool queue(EpollItem& item) {
  if (item.queued) return false;
  item.place = item.owner->ready.insert(item.owner->ready.end(), &item);
  item.queued = true;
  return true;
}

void unqueue(EpollItem& item) {
  if (!item.queued) return;
  item.owner->ready.erase(item.place);
  item.queued = false;
}

// Queues the entry and tells those waiting on its epoll (tasks, and an epoll that
// watches this one).
void queue_and_wake(EpollItem& item) {
  if (queue(item)) item.owner->self->waiters.notify_all();
}

void watch(EpollItem& item) {
  Socket& target = *item.target;
  if (!target.epoll_watch) {
    target.epoll_watch = std::make_shared<EpollWatch>();
    target.waiters.set_watcher(target.epoll_watch.get());
  }
  target.epoll_watch->items.push_back(&item);
}

void remove(EpollItem& item) {
  unqueue(item);
  Socket& target = *item.target;
  std::vector<EpollItem*>& watching = target.epoll_watch->items;
  watching.erase(std::find(watching.begin(), watching.end(), &item));
  if (watching.empty()) {
    target.waiters.set_watcher(nullptr);
    target.epoll_watch.reset();
  }
  item.owner->items.erase({target.id, item.fd});
}

// Epoll instances at and below `socket` (0 for another kind), or -1 when `avoid` is
// among them: adding `socket` to it would make a loop.
int depth_below(const Socket& socket, const Socket& avoid) {
  if (!socket.epoll) return 0;
  if (&socket == &avoid) return -1;
  int deepest = 0;
  for (const auto& [key, item] : socket.epoll->items) {
    const int depth = depth_below(*item->target, avoid);
    if (depth < 0) return -1;
    deepest = std::max(deepest, depth);
  }
  return deepest + 1;
}

// Epoll instances at and above `epoll`: it, and those that watch it, and so on.
int depth_above(const Socket& epoll) {
  int highest = 0;
  if (epoll.epoll_watch)
    for (const EpollItem* item : epoll.epoll_watch->items) highest = std::max(highest, depth_above(*item->owner->self));
  return highest + 1;
}

// Takes what is ready off the list into `out`. Level-triggered entries go back to the
// tail as they are reported, so that the next wait starts with those this one did not
// reach: Linux's rotation.
std::size_t collect(Epoll& epoll, std::span<Kernel::EpollEvent> out) {
  std::size_t n = 0;
  for (std::size_t left = epoll.ready.size(); left > 0 && n < out.size(); --left) {
    EpollItem& item = *epoll.ready.front();
    unqueue(item);
    const std::uint32_t events = item_events(item);
    if (events == 0) continue;
    out[n++] = {events, item.data};
    if (item.events & EPOLLONESHOT) {
      item.events &= kPrivate;
    } else if (!(item.events & EPOLLET)) {
      queue(item);
    }
  }
  // As Linux's ep_done_scan: what is left ready is news for an epoll watching this one.
  if (!epoll.ready.empty()) epoll.self->waiters.notify_all();
  return n;
}

}  // namespace

void EpollWatch::notified() {
  // The watched descriptor's readiness may have changed. A disabled entry (EPOLLONESHOT
  // fired) ignores it; an EPOLLET entry is queued anew, as Linux re-arms it on every
  // arrival.
  for (EpollItem* item : items)
    if (item->events & ~kPrivate) queue_and_wake(*item);
}

short epoll_readiness(const Socket& epoll) {
  for (const EpollItem* item : epoll.epoll->ready)
    if (item_events(*item)) return POLLIN;
  return 0;
}

void epoll_release(Socket& socket) {
  if (socket.epoll) {
    Epoll& epoll = *socket.epoll;
    while (!epoll.items.empty()) remove(*epoll.items.begin()->second);
  }
  if (socket.epoll_watch) {
    const std::vector<EpollItem*> watching = socket.epoll_watch->items;
    for (EpollItem* item : watching) remove(*item);
  }
}

long Kernel::epoll_create(Task& self, int flags, int at) {
  begin_call(self);
  if (flags & ~EPOLL_CLOEXEC) return result(self, -1, -EINVAL, "epoll_create1");
  auto socket = std::make_shared<Socket>();
  socket->id = net_->next_socket_id();
  socket->host = &self.process().host();
  socket->stream = false;
  socket->epoll = std::make_shared<Epoll>();
  socket->epoll->self = socket.get();
  return result(self, -1, install(self.process(), std::move(socket), at), "epoll_create1");
}

long Kernel::epoll_ctl(Task& self, int epfd, int op, int fd, std::uint32_t events, std::uint64_t data) {
  begin_call(self);
  // In Linux's order of checks (fs/eventpoll.c, do_epoll_ctl).
  const auto socket = lookup(self, epfd);
  if (!socket) return result(self, epfd, -EBADF, "epoll_ctl");
  const auto target = lookup(self, fd);
  if (!target) return result(self, fd, -EBADF, "epoll_ctl");
  if (socket == target || !socket->epoll) return result(self, epfd, -EINVAL, "epoll_ctl");
  if (op != EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE) &&
      (op == EPOLL_CTL_MOD || target->epoll || (events & ~kExclusiveOk)))
    return result(self, epfd, -EINVAL, "epoll_ctl");
  if (op == EPOLL_CTL_ADD && target->epoll) {
    const int below = depth_below(*target, *socket);
    if (below < 0 || depth_above(*socket) + below > kMaxChain) return result(self, epfd, -ELOOP, "epoll_ctl");
  }
  Epoll& epoll = *socket->epoll;
  const auto found = epoll.items.find({target->id, fd});
  EpollItem* item = found == epoll.items.end() ? nullptr : found->second.get();
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (item) return result(self, epfd, -EEXIST, "epoll_ctl");
      auto added = std::make_unique<EpollItem>();
      item = added.get();
      item->owner = &epoll;
      item->target = target.get();
      item->fd = fd;
      epoll.items.emplace(std::pair(target->id, fd), std::move(added));
      watch(*item);
      break;
    }
    case EPOLL_CTL_MOD:
      if (!item) return result(self, epfd, -ENOENT, "epoll_ctl");
      if (item->events & EPOLLEXCLUSIVE) return result(self, epfd, -EINVAL, "epoll_ctl");
      break;
    case EPOLL_CTL_DEL:
      if (!item) return result(self, epfd, -ENOENT, "epoll_ctl");
      remove(*item);
      return 0;
    default:
      return result(self, epfd, -EINVAL, "epoll_ctl");
  }
  // Errors and hang-ups are reported whether asked for or not. Ready now: queued now,
  // which is also how MOD re-arms an EPOLLONESHOT or EPOLLET entry.
  item->events = events | EPOLLERR | EPOLLHUP;
  item->data = data;
  if (item_events(*item)) queue_and_wake(*item);
  return 0;
}

long Kernel::epoll_wait(Task& self, int epfd, std::span<EpollEvent> out, std::optional<Nanos> timeout) {
  begin_call(self);
  if (out.empty()) return result(self, epfd, -EINVAL, "epoll_wait");
  const auto socket = lookup(self, epfd);
  if (!socket) return result(self, epfd, -EBADF, "epoll_wait");
  if (!socket->epoll) return result(self, epfd, -EINVAL, "epoll_wait");
  const std::optional<Nanos> deadline =
      timeout ? std::optional<Nanos>(clock_.elapsed() + *timeout) : std::nullopt;
  for (;;) {
    if (const std::size_t n = collect(*socket->epoll, out)) return static_cast<long>(n);
    if (timeout && *timeout <= 0) {
      scheduler_.spin(self);
      return 0;
    }
    WaitQueue* queue = &socket->waiters;
    Wait wait{"epoll_wait"};
    wait.fd = epfd;
    if (!scheduler_.block(self, wait, {&queue, 1}, deadline)) return 0;  // timed out
  }
}

}  // namespace netsim
