#pragma once
// A run's network and the faults injected into it, as data: what a scenario file
// (TOML), simrun's --host/--latency/--loss and Python's Simulation(scenario=...) all
// become. The kernel applies it; every fault that fires is an event in the trace.
//
// Words come from the tools people already use: tc netem (delay, jitter, loss,
// duplicate, reorder, rate), Toxiproxy (slicer, limit_data, reset_peer, timeout),
// Jepsen and turmoil (partition, heal, hold, release, kill, pause, clock skew).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/clock.hpp"

namespace netsim {

// How a link treats what crosses it, one way, as netem's qdisc on the sending host's
// interface does. Probabilities are in [0, 1] and draw from the run's fault generator
// (seeded from Config::seed, apart from the generator of ports and of the schedule,
// so adding a fault shifts no ephemeral port).
struct LinkConditions {
  Nanos delay = 0;         // one-way latency (netem delay)
  // netem jitter: each packet's delay is drawn uniformly in [delay - jitter, delay +
  // jitter] (never below 0). A stream keeps its order: a segment never arrives before
  // the one sent ahead of it, as TCP's receive queue delivers in sequence.
  Nanos jitter = 0;
  // netem rate, bits per second, 0: unlimited. A packet occupies the link for
  // size * 8 / rate and waits for the packets ahead of it, so a large transfer takes
  // virtual time; the receive buffer still bounds what is in flight, so a fast sender
  // blocks once its peer's buffer and the link hold SO_RCVBUF bytes.
  std::uint64_t rate = 0;
  // Datagrams lost are gone; a stream stays reliable, as TCP does: a lost segment is
  // sent again after a retransmission timeout (TcpSettings), so loss shows as delay.
  double loss = 0;
  double duplicate = 0;  // datagrams only
  double reorder = 0;    // datagrams only: sent without the delay, so it overtakes

  // No delay, no rate, no loss: what crosses is delivered at once, as today.
  bool perfect() const {
    return delay == 0 && jitter == 0 && rate == 0 && loss == 0 && duplicate == 0 && reorder == 0;
  }
};

// Conditions between hosts `a` and `b` ("*": every host). a == b is that host's
// loopback. Unless one_way, the same conditions apply from b to a. When several specs
// match a direction, the last one given wins; none: Scenario::defaults.
struct LinkSpec {
  std::string a;
  std::string b;
  bool one_way = false;
  LinkConditions conditions;
};

// "localhost" names the default host (10.0.0.1, fd00::1), where every process not
// placed elsewhere runs; a scenario may list it to place programs or skew its clock.
struct HostSpec {
  std::string name;             // also its hostname and the name lookups resolve
  std::vector<Ip> addresses;    // empty: the next free 10.0.0.N (and fd00::N)
  // Names of the programs placed on it (Simulation::create_process's name, before it
  // is made unique: "client" places client, client-2, ...).
  std::vector<std::string> processes;
  // The wall clock (CLOCK_REALTIME) its programs read is
  //   epoch + clock_offset + elapsed * (1 + clock_drift) + the clock_jumps so far,
  // and CLOCK_MONOTONIC is uptime + elapsed * (1 + clock_drift): drift affects both,
  // an offset or a jump the wall clock only, as ntpd's step does. The trace stays on
  // the simulation's own time.
  Nanos clock_offset = 0;       // its wall clock reads this much ahead (negative: behind)
  double clock_drift = 0;       // its clocks gain this fraction of elapsed time (1e-4: 100 ppm)
};

// The retransmission model of the simulated TCP, as Linux's defaults. A SYN is sent
// again after rto_initial, doubling: with syn_retries 6 connect() fails with
// ETIMEDOUT 1+2+4+8+16+32+64 = 127 s after it started (ip-sysctl.rst, tcp_syn_retries).
// A data segment that is lost is sent again after RTT + rto_min (Linux's RTO once
// the RTT is measured: srtt plus a variance floored at TCP_RTO_MIN), doubling up to
// rto_max; the connection fails with ETIMEDOUT once unacknowledged data has waited
// sum(min(rto_min * 2^i, rto_max), i = 0..retries): 924.6 s with retries 15, the
// figure ip-sysctl.rst gives for tcp_retries2 (tcp_model_timeout()).
struct TcpSettings {
  Nanos rto_initial = kSecond;            // TCP_TIMEOUT_INIT: the SYN's timeout
  Nanos rto_min = 200 * kMillisecond;     // TCP_RTO_MIN
  Nanos rto_max = 120 * kSecond;          // TCP_RTO_MAX
  int syn_retries = 6;                    // net.ipv4.tcp_syn_retries: connect() ends in ETIMEDOUT
  int retries = 15;                       // net.ipv4.tcp_retries2: a cut path ends in ETIMEDOUT
};

enum class FaultKind : std::uint8_t {
  // the network
  partition,  // cut `hosts` from `peers` (peers empty: from every other host): nothing
              // crosses, no RST either, so connects and unacknowledged data time out
  heal,       // undo partitions (all, or those between hosts and peers)
  hold,       // keep what enters the links between hosts and peers, deliver nothing
  release,    // deliver what hold kept, in order, each after its link's delay
  // processes (`process` names a program; every live process of that name)
  kill,       // SIGKILL: exit by signal 9, its descriptors closed (peers see RST where
              // data was unread, else EOF), its ports free at once; restart_after:
              // the program starts again that long after (ProcessControl::restart)
  pause,      // SIGSTOP: none of its tasks runs, its sockets still receive
  resume,     // SIGCONT
  // host clocks (`hosts`)
  clock_jump,  // the wall clock steps by `amount` (monotonic clocks do not)
  // connections matched by `match`; a timed one applies to those open at `at`, an
  // event one to the Nth matching connect (nth) or once after_bytes have crossed
  refuse,       // connect fails with ECONNREFUSED (the server's RST to the SYN)
  reset,        // the connection is reset (RST): both ends see ECONNRESET (reset_peer)
  close,        // both directions closed cleanly (FIN): both ends read end of file
  blackhole,    // nothing more arrives; the sender's buffer fills; unacknowledged
                // data ends the connection in ETIMEDOUT (Toxiproxy's timeout)
  slice,        // recv returns at most `size` bytes at a time (slicer)
  partial_write,  // send accepts at most `size` bytes at a time
  // calls
  eintr,          // the matched blocking call fails with EINTR once
  resolve_fail,   // name lookups of `match.name` fail with `error` (EAI_AGAIN, EAI_NONAME)
};

const char* fault_kind_name(FaultKind kind);

// Which connections or calls a fault applies to; empty fields match anything. A
// connection is seen from its connecting end: `host` is the client's host, `peer` the
// server's, `port` the server's port. direction: which bytes a slice, partial_write,
// blackhole or after_bytes counts: outbound from the client, inbound to it, or both.
struct FaultMatch {
  std::string host;       // the host the socket lives on (the client's for connections)
  std::string peer;       // the host at the other end
  std::string process;    // program name (the caller's, for calls and lookups)
  std::optional<std::uint16_t> port;  // the server's port
  enum class Direction : std::uint8_t { both, outbound, inbound } direction = Direction::both;
  std::string call;       // eintr: "recv", "accept", "connect", "poll"...; empty: any blocking call
  std::string name;       // resolve_fail: the name looked up
};

// When a fault fires: at a virtual time, or on an event (the Nth matching connection,
// after N bytes on a matched connection), or both (the first event after the time).
struct FaultTrigger {
  std::optional<Nanos> at;
  std::optional<std::uint64_t> nth;          // 1 = the first matching connect/call/lookup
  std::optional<std::uint64_t> after_bytes;  // reset/close/blackhole after this many bytes
  double probability = 1;                    // each match fires with this probability
  std::optional<std::uint64_t> count;        // at most this many times; none: once for
                                             // timed faults, always for matched ones
};

struct Fault {
  FaultKind kind = FaultKind::partition;
  FaultTrigger when;
  std::vector<std::string> hosts;  // partition/heal/hold/release/clock_jump
  std::vector<std::string> peers;
  bool one_way = false;            // partition/hold: only from hosts to peers
  std::string process;             // kill/pause/resume
  std::optional<Nanos> duration;   // partition/hold/pause: undone after this long
  std::optional<Nanos> restart_after;  // kill: the program starts again after this long
  FaultMatch match;
  std::size_t size = 0;            // slice/partial_write: the most bytes per call
  int error = 0;                   // resolve_fail: EAI_* value (netdb.h)
  Nanos amount = 0;                // clock_jump
  std::string label;               // the scenario's own name for it, for annotations
};

struct Scenario {
  std::vector<HostSpec> hosts;
  // --latency/--loss: every link, a host's loopback included; links override them.
  LinkConditions defaults;
  std::vector<LinkSpec> links;
  std::vector<Fault> faults;
  TcpSettings tcp;
  // A "netsim: ..." line in the transcript where each fault fires.
  bool annotate = true;
};

}  // namespace netsim
