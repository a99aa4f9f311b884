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

// How a link treats what crosses it, one way. Probabilities are in [0, 1] and draw
// from the run's seeded generator.
struct LinkConditions {
  Nanos delay = 0;         // one-way latency
  Nanos jitter = 0;        // each packet's delay is drawn in [delay - jitter, delay + jitter]
  std::uint64_t rate = 0;  // bits per second, 0: unlimited (serialisation delay otherwise)
  // Datagrams lost are gone; a stream stays reliable, as TCP does: a lost segment is
  // sent again after a retransmission timeout (TcpSettings), so loss shows as delay.
  double loss = 0;
  double duplicate = 0;  // datagrams only
  double reorder = 0;    // datagrams only: sent without the delay, so it overtakes
};

// Conditions between hosts `a` and `b` ("*": every host). a == b is that host's
// loopback. Unless one_way, the same conditions apply from b to a.
struct LinkSpec {
  std::string a;
  std::string b;
  bool one_way = false;
  LinkConditions conditions;
};

struct HostSpec {
  std::string name;             // also its hostname and the name lookups resolve
  std::vector<Ip> addresses;    // empty: the next free 10.0.0.N (and fd00::N)
  std::vector<std::string> processes;  // names of the programs placed on it
  Nanos clock_offset = 0;       // its wall clock reads this much ahead (negative: behind)
  double clock_drift = 0;       // its clocks gain this fraction of elapsed time (1e-4: 100 ppm)
};

// The retransmission model of the simulated TCP, as Linux's defaults.
struct TcpSettings {
  Nanos rto_initial = kSecond;            // SYN and first retransmission timeout
  Nanos rto_min = 200 * kMillisecond;     // TCP_RTO_MIN
  Nanos rto_max = 120 * kSecond;          // TCP_RTO_MAX
  int syn_retries = 6;                    // net.ipv4.tcp_syn_retries: connect() ends in ETIMEDOUT
  int retries = 15;                       // net.ipv4.tcp_retries2: a cut path ends in ETIMEDOUT
};

enum class FaultKind : std::uint8_t {
  // the network
  partition,  // cut `hosts` from `peers` (peers empty: from every other host)
  heal,       // undo partitions (all, or those between hosts and peers)
  hold,       // keep what enters the links between hosts and peers, deliver nothing
  release,    // deliver what hold kept, in order
  // processes (`process` names a program)
  kill,       // SIGKILL; its ports are free at once; restart_after: start it again
  pause,      // SIGSTOP: it runs nothing, its sockets still receive
  resume,     // SIGCONT
  // host clocks (`hosts`)
  clock_jump,  // the wall clock steps by `amount` (monotonic clocks do not)
  // connections matched by `match`
  refuse,       // connect fails with ECONNREFUSED
  reset,        // the connection is reset (RST): reset_peer
  close,        // closed cleanly (FIN): the peer sees end of file
  blackhole,    // nothing more arrives; the sender's buffer fills (timeout)
  slice,        // recv returns at most `size` bytes at a time (slicer)
  partial_write,  // send accepts at most `size` bytes at a time
  // calls
  eintr,          // the matched blocking call fails with EINTR once
  resolve_fail,   // name lookups of `match.name` fail with `error` (EAI_AGAIN, EAI_NONAME)
};

const char* fault_kind_name(FaultKind kind);

// Which connections or calls a fault applies to; empty fields match anything.
struct FaultMatch {
  std::string host;       // the host the socket lives on
  std::string peer;       // the host at the other end
  std::string process;    // program name
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
