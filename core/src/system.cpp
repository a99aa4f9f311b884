#include "netsim/system.hpp"

namespace netsim {

SystemFacts system_facts(const Host& host) {
  // A plausible Linux machine: the release names netsim, so that a program that
  // prints it does not pass for a real kernel's.
  return SystemFacts{.sysname = "Linux",
                     .nodename = host.name,
                     .release = "6.1.0-netsim",
                     .version = "#1 SMP PREEMPT_DYNAMIC netsim",
                     .machine = "x86_64",
                     .cpus = 4};
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
