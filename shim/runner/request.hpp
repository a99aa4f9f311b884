#pragma once
// The one point where a request from a shimmed thread enters the simulator. The slot
// is memory the child shares, which it may rewrite at any moment, and the child may be
// buggy or hostile: a request is copied once into its task's private slot, checked
// there, and served from there; only the reply goes back to the shared slot.
#include <string>

#include "netsim/shim/channel.hpp"

namespace netsim::shim {

// Copies the request in `shared` into `mine`: the call, its arguments, and only the
// bytes of the buffer it carries (its payload, a Unix name), as protocol.hpp's
// messages say. Returns "" for a request the shim can send; otherwise what makes it
// one no honest shim sends (an unknown call, a size beyond the buffer, an impossible
// count or index), for the line that reports its sender. Requests that are well-formed but wrong are left to the calls,
// which answer them with Linux's errno.
std::string take_request(const Slot& shared, Slot& mine);

// Copies the reply in `mine` to `shared`: result, signal, arguments, and the bytes of
// the buffer the call answers with.
void give_reply(const Slot& mine, Slot& shared);

}  // namespace netsim::shim
