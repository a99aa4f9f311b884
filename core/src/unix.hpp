#pragma once
// Unix-domain sockets. A name is what sun_path holds: a path (without its NUL), or a
// NUL and then an abstract name; empty is unnamed. Names belong to the whole
// simulation, not to a host. Connected streams are stream.cpp's; what differs is how
// they meet (a listener found by name, connect() done at once or waiting for room)
// and the datagrams, which are never dropped: a full receiver makes the sender wait.
#include <cstddef>
#include <string>
#include <string_view>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

long unix_socket(Kernel& kernel, Task& self, int type, int protocol, int at);
long unix_datagram_pair(Kernel& kernel, Task& self, int type, int at0, int at1);
long unix_listen(Kernel& kernel, Task& self, int fd, Socket& socket, int backlog);
long unix_accept(Kernel& kernel, Task& self, int fd, Socket& socket, int flags, int at);
// to: nullptr for the connected peer.
long unix_send(Kernel& kernel, Task& self, int fd, Socket& socket, std::string_view data, int flags,
               const std::string_view* to);
long unix_recv(Kernel& kernel, Task& self, int fd, Socket& socket, char* out, std::size_t size,
               int flags, std::string* from);
// The last descriptor is gone: an abstract name is free again, waiting senders wake.
void unix_close(Kernel& kernel, Socket& socket);

}  // namespace netsim
