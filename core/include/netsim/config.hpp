#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "netsim/clock.hpp"
#include "netsim/scheduler.hpp"
#include "netsim/short_paths.hpp"

namespace netsim {

struct Config {
  std::uint64_t seed = 0;
  Nanos epoch = kDefaultEpoch;
  Policy policy = Policy::run_until_block;
  // Seeds the random policy's choices and the network's draws (jitter, loss, faults
  // with a probability); none: `seed` does. Sweeping it varies only the interleaving
  // and the network's weather: ephemeral ports and random bytes stay those of `seed`.
  std::optional<std::uint64_t> schedule_seed;
  // Policy::pct's depth and horizon.
  Pct pct{};
  // Policy::schedule's deviations from run-until-block.
  std::vector<Deviation> schedule;
  // Receive buffer of a socket (SO_RCVBUF): a sender blocks when its peer's is full.
  std::size_t socket_buffer = 64 * 1024;
  // Virtual time each kernel call costs. Neither front-end sets it: in-process and
  // simrun runs must keep the same times, and a polling loop moves time already
  // (a non-blocking call that finds nothing to do, when no task can run, costs 1 us).
  Nanos call_cost = 0;
  // Keep the bytes of send/recv events in the trace (needed for pcap and cassettes).
  bool trace_payload = true;
  // The transcript's short forms of paths (short_paths.hpp); none: paths as printed.
  // The trace keeps the bytes as the programs wrote them.
  std::vector<PathForm> short_paths;
};

}  // namespace netsim
