#pragma once
// Serving a shimmed thread's calls on its task's context: each concern file answers
// the calls it owns (true) with the Kernel calls they stand for, and leaves the others.
#include "netsim/kernel.hpp"
#include "netsim/shim/channel.hpp"

namespace netsim::shim {

// net_calls.cpp: socket calls, read/write/close/dup/fcntl/ioctl on sockets, poll, and
// name resolution (the shim side is shim/preload/net.cpp, poll.cpp, names.cpp).
bool serve_net(Kernel& kernel, Task& task, Slot& slot, long& result);

}  // namespace netsim::shim
