#pragma once
// What poll(2) sees of a descriptor now: POLLIN, POLLOUT, POLLERR, POLLHUP... bits,
// by its kind. poll and epoll both ask it.
#include "socket.hpp"

namespace netsim {

short readiness(const Socket& socket);

}  // namespace netsim
