#pragma once
// Recording trace events about a socket from inside a call.
#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

inline Event& record(Kernel& kernel, EventKind kind, const Task* actor, int fd,
                     const Socket* socket = nullptr) {
  Event& event = kernel.trace().record(kind, kernel.clock().elapsed());
  if (actor) {
    event.pid = actor->process().pid();
    event.task = actor->id();
  }
  event.fd = fd;
  if (socket) {
    event.conn = socket->conn;
    event.datagram = !socket->stream;
    event.local = socket->local;
    event.remote = socket->remote;
  }
  return event;
}

}  // namespace netsim
