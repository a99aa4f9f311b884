#pragma once
// TCP-like stream sockets: connection set-up through a listen backlog, byte streams
// through finite receive buffers, half-close, FIN and RST as Linux reports them.
#include <cstddef>
#include <memory>
#include <string_view>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

long stream_listen(Kernel& kernel, Task& self, int fd, Socket& socket, int backlog);
long stream_accept(Kernel& kernel, Task& self, int fd, Socket& socket, Address* peer, int flags,
                   int at);
long stream_connect(Kernel& kernel, Task& self, int fd, Socket& socket, const Address& to);
long stream_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data,
                 int flags);
long stream_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out, std::size_t size,
                 int flags);
long stream_shutdown(Kernel& kernel, Task& self, int fd, Socket& socket, int how);
// The last descriptor is gone: FIN to the peer, or RST when data was left unread.
void stream_close(Kernel& kernel, const Task* actor, Socket& socket);
short stream_readiness(const Socket& socket);
// An RST reached `socket` (a reset arriving across a link).
void stream_reset(Kernel& kernel, Socket& socket);
// A connection fault (reset, close, blackhole) on the connection `end` belongs to.
void stream_fault(Kernel& kernel, Socket& end, FaultKind kind);

}  // namespace netsim
