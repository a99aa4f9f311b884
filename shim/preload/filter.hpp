#pragma once
// The seccomp filter's program, built from the table of intercepted calls (calls.hpp):
// what seccomp.cpp installs, and what tests/shim/test_call_table.cpp runs against the
// table. Needs nothing of the shim's run time, so a test can link it alone.
#include <linux/filter.h>

namespace netsim::shim {

struct Filter {
  struct sock_filter code[512];
  unsigned short size = 0;
};

// Fills `filter`: calls made from `gate_ip` (the address after the shim's syscall
// instruction) pass, the others as calls.hpp says (trapped, or made for real).
void build_filter(Filter& filter, unsigned long gate_ip);

}  // namespace netsim::shim
