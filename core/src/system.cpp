#include "netsim/system.hpp"

#include <net/if.h>

namespace netsim {

SystemFacts system_facts(const Host& host) {
  // A plausible Linux machine: the release names netsim, so that a program that
  // prints it does not pass for a real kernel's.
  SystemFacts facts{.sysname = "Linux",
                    .nodename = host.name,
                    .release = "6.1.0-netsim",
                    .version = "#1 SMP PREEMPT_DYNAMIC netsim",
                    .machine = "x86_64",
                    .cpus = 4,
                    .interfaces = {}};
  facts.interfaces.push_back({.name = "lo",
                              .index = 1,
                              .ipv4 = Ip::loopback(Family::inet),
                              .prefix = 8,
                              .flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING,
                              .mtu = 65536,
                              .mac = {}});
  std::optional<Ip> ipv4;
  for (const Ip& ip : host.addresses)
    if (!ipv4 && ip.family == Family::inet) ipv4 = ip;
  // A locally administered address (02:...), the host's id in its last byte.
  facts.interfaces.push_back({.name = "eth0",
                              .index = 2,
                              .ipv4 = ipv4,
                              .prefix = 24,
                              .flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST,
                              .mtu = 1500,
                              .mac = {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(host.id + 1)}});
  return facts;
}

std::uint64_t python_hash_seed(std::uint64_t seed) { return 1 + seed % 4'294'967'295ULL; }

std::vector<std::string> fixed_environment(std::uint64_t seed) {
  return {"PYTHONHASHSEED=" + std::to_string(python_hash_seed(seed)),
          "LANG=C.UTF-8",
          "LC_ALL=C.UTF-8",
          "TZ=UTC",
          std::string("USER=") + kSimulatedUser,
          std::string("LOGNAME=") + kSimulatedUser};
}

}  // namespace netsim
