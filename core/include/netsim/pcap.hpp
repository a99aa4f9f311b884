#pragma once
// A packet capture of a run, derived from its trace: what Wireshark and tcpdump would
// have seen on the wire had the simulated network been a real one.
#include <string>

#include "netsim/clock.hpp"
#include "netsim/trace.hpp"

namespace netsim {

// The capture as the bytes of a pcap file (nanosecond timestamps, raw IPv4/IPv6
// frames, LINKTYPE_RAW). Each TCP connection gets its handshake, its data in
// segments with consistent sequence and acknowledgement numbers (each acknowledged
// at once), a FIN for each shutdown or close of a side, and an RST where the trace
// records a reset; each UDP datagram sent is one frame, whether or not it was
// delivered. Timestamps are the virtual wall clock (epoch + the event's time).
// Events without internet addresses (Unix sockets, pipes) and kinds the capture does
// not know are left out. The same trace always gives the same bytes.
std::string make_pcap(const Trace& trace, Nanos epoch);

}  // namespace netsim
