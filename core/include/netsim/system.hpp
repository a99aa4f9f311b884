#pragma once
// What a program learns about the machine and the session it runs in, besides the
// network: uname(2), the number of CPUs, the user, the locale and time zone. All
// simulated, the same in both modes (the shim and the in-process package answer from
// here), so that nothing a program prints depends on the real host.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netsim/kernel.hpp"

namespace netsim {

// A network interface, as ioctl(SIOCGIF*) describes it.
struct Interface {
  std::string name;  // "lo", "eth0"
  int index = 0;     // from 1
  std::optional<Ip> ipv4;  // none: no IPv4 address
  int prefix = 0;          // the netmask's length
  unsigned flags = 0;      // IFF_*
  int mtu = 0;
  std::array<std::uint8_t, 6> mac{};  // all zero for loopback
};

struct SystemFacts {
  // uname(2)'s fields; nodename is the host's name (gethostname reads it too).
  std::string sysname;
  std::string nodename;
  std::string release;
  std::string version;
  std::string machine;
  // What sched_getaffinity, get_nprocs and sysconf(_SC_NPROCESSORS_*) report (CPUs 0
  // to cpus - 1): a small machine's, whatever the real one has.
  int cpus = 0;
  // The host's interfaces: loopback, then eth0 with the host's first IPv4 address.
  std::vector<Interface> interfaces;
};

SystemFacts system_facts(const Host& host);

// The user name a program is told (USER, LOGNAME): not the real one.
inline constexpr const char* kSimulatedUser = "netsim";

// The environment variables a simulated program is given whatever the caller's are,
// "NAME=value": those that change what a program prints without being its business
// (str hashing, the locale, the time zone, the user's name). Python's hash seed is
// derived from the run's seed, so another seed gives another (repeatable) set order.
std::vector<std::string> fixed_environment(std::uint64_t seed);

// PYTHONHASHSEED for a run of this seed: 1 + seed mod (2^32 - 1), never 0 (which
// would turn hash randomisation off rather than fix it).
std::uint64_t python_hash_seed(std::uint64_t seed);

}  // namespace netsim
