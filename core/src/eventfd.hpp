#pragma once
// eventfd: a 64-bit counter behind a descriptor. Reads take it (or one, as a
// semaphore), writes add to it; each blocks while it cannot go on, as Linux's does.
#include <cstddef>
#include <string_view>

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {

long eventfd_read(Kernel& kernel, Task& self, int fd, Socket& event, char* out, std::size_t size);
long eventfd_write(Kernel& kernel, Task& self, int fd, Socket& event, std::string_view data);
short eventfd_readiness(const Socket& event);

}  // namespace netsim
