#pragma once
// UDP-like datagram sockets: message boundaries kept, delivery into the receiver's
// buffer or a silent drop when it is full or nobody is bound.
#include <cstddef>
#include <string_view>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

long datagram_connect(Kernel& kernel, Task& self, int fd, Socket& socket, const Address& to);
long datagram_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data,
                   const Address* to);
long datagram_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out,
                   std::size_t size, int flags, Address* from);
short datagram_readiness(const Socket& socket);

}  // namespace netsim
