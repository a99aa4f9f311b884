#pragma once
// UDP-like datagram sockets: message boundaries kept, delivery into the receiver's
// buffer or a silent drop when it is full or nobody is bound.
#include <cstddef>
#include <string>
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
// The head of a non-empty datagram queue, for recv of UDP and Unix datagram sockets:
// copied into out, recorded, and taken off the queue unless MSG_PEEK. Sets the
// sender's address or Unix name where asked; returns the length recv reports.
long take_datagram(Kernel& kernel, Task& self, int fd, Socket& socket, char* out,
                   std::size_t size, int flags, Address* from, std::string* from_name);

}  // namespace netsim
