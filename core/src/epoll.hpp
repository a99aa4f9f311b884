#pragma once
// epoll instances as the simulated kernel keeps them, after Linux's fs/eventpoll.c: an
// interest list of (open file, descriptor number) entries that belongs to the open
// file description (shared by dup and fork), and a ready list fed by the watched
// descriptors' own notifications, so that a wait costs what is ready, not what is
// registered.
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

struct Epoll;

// One registration: Linux's epitem.
struct EpollItem {
  Epoll* owner = nullptr;
  Socket* target = nullptr;  // the open file; the entry goes when its last descriptor closes
  int fd = -1;               // the number it was registered under
  std::uint32_t events = 0;  // as given, plus EPOLLERR | EPOLLHUP
  std::uint64_t data = 0;
  bool queued = false;  // on the owner's ready list
  std::list<EpollItem*>::iterator place;
};

struct Epoll {
  Socket* self = nullptr;  // the epoll's own descriptor, which a nesting epoll watches
  // By (target's id, fd): creation order, never an address, decides any walk.
  std::map<std::pair<std::uint64_t, int>, std::unique_ptr<EpollItem>> items;
  std::list<EpollItem*> ready;  // candidates, oldest first; re-checked when reported
};

// The entries watching one descriptor, told of its every notification.
struct EpollWatch final : QueueWatcher {
  std::vector<EpollItem*> items;
  void notified() override;
};

// poll(2)'s view of an epoll descriptor: readable while an entry is ready.
short epoll_readiness(const Socket& epoll);
// The descriptor's last open reference is gone: it leaves every interest list, and
// an epoll's own entries go.
void epoll_release(Socket& socket);

}  // namespace netsim
