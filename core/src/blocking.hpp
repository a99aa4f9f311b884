#pragma once
// How a socket call waits: a non-blocking socket answers EAGAIN at once (and lets
// others run, so a polling loop still makes progress); a blocking one sleeps until
// the socket changes.
#include <cerrno>

#include "faults.hpp"
#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

// 0: the socket changed, check again. -EAGAIN or -EINTR: give up with that.
inline long wait_for(Kernel& kernel, Task& self, Socket& socket, const char* op, int fd,
                     bool nonblocking) {
  if (nonblocking) {
    kernel.scheduler().spin(self);
    return -EAGAIN;
  }
  WaitQueue* queue = &socket.waiters;
  if (kernel.faults().eintr(self, op, fd)) return -EINTR;
  if (!kernel.scheduler().block(self, Wait{op, fd}, {&queue, 1}, std::nullopt)) return -EINTR;
  return 0;
}

}  // namespace netsim
