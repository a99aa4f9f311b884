#pragma once
// Serving a shimmed thread's calls on its task's context: each concern file answers
// the calls it owns (true) with the Kernel calls they stand for, and leaves the others.
#include <poll.h>

#include <vector>

#include "netsim/kernel.hpp"
#include "netsim/shim/channel.hpp"

namespace netsim::shim {

// net_calls.cpp: socket calls, read/write/close/dup/fcntl/ioctl on sockets, poll, and
// name resolution (the shim side is shim/preload/net.cpp, poll.cpp, names.cpp).
// `poll_list` gathers the parts of the thread's poll list that came before its last.
bool serve_net(Kernel& kernel, Task& task, Slot& slot, std::vector<pollfd>& poll_list, long& result);

}  // namespace netsim::shim
