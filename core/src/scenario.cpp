// Kernel::apply: a Scenario's hosts, placements and links become the kernel's; its
// faults go to Faults. Everything is checked first, so a bad scenario changes nothing.
#include <netdb.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "faults.hpp"
#include "link.hpp"
#include "netsim/kernel.hpp"

namespace netsim {

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::partition: return "partition";
    case FaultKind::heal: return "heal";
    case FaultKind::hold: return "hold";
    case FaultKind::release: return "release";
    case FaultKind::kill: return "kill";
    case FaultKind::pause: return "pause";
    case FaultKind::resume: return "resume";
    case FaultKind::clock_jump: return "clock_jump";
    case FaultKind::refuse: return "refuse";
    case FaultKind::reset: return "reset";
    case FaultKind::close: return "close";
    case FaultKind::blackhole: return "blackhole";
    case FaultKind::slice: return "slice";
    case FaultKind::partial_write: return "partial_write";
    case FaultKind::eintr: return "eintr";
    case FaultKind::resolve_fail: return "resolve_fail";
  }
  return "?";
}

namespace {

void check_probability(double p, const std::string& what) {
  if (!(p >= 0 && p <= 1))
    throw std::invalid_argument(fmt::format("{}: {} is no probability (give one from 0 to 1)", what, p));
}

void check_conditions(const LinkConditions& c, const std::string& what) {
  if (c.delay < 0 || c.jitter < 0)
    throw std::invalid_argument(what + ": a delay or jitter cannot be negative");
  check_probability(c.loss, what + " loss");
  check_probability(c.duplicate, what + " duplicate");
  check_probability(c.reorder, what + " reorder");
}

// The next address of the 10.0.0.N / fd00::N plan that no host has.
Ip free_address(const std::vector<Ip>& taken, Family family) {
  for (unsigned n = 2;; ++n) {
    Ip ip = family == Family::inet ? Ip::v4(10, 0, n >> 8, n & 0xff)
                                   : *Ip::parse(fmt::format("fd00::{:x}", n));
    if (std::find(taken.begin(), taken.end(), ip) == taken.end()) return ip;
  }
}

}  // namespace

void Kernel::apply(const Scenario& scenario) {
  if (!processes_.empty())
    throw std::logic_error("a scenario is applied before the first process is created");
  if (!scenario_.hosts.empty() || !scenario_.links.empty() || !scenario_.faults.empty())
    throw std::logic_error("a scenario was applied already");
  // Names first, so that links and faults can name hosts listed after them.
  std::vector<std::string> names = {default_host().name};
  std::vector<Ip> taken = default_host().addresses;
  for (const HostSpec& spec : scenario.hosts) {
    if (spec.name.empty()) throw std::invalid_argument("a host needs a name");
    if (spec.name != default_host().name &&
        std::find(names.begin(), names.end(), spec.name) != names.end())
      throw std::invalid_argument(fmt::format("host '{}' is listed twice", spec.name));
    names.push_back(spec.name);
    taken.insert(taken.end(), spec.addresses.begin(), spec.addresses.end());
  }
  auto known = [&](const std::string& name, const std::string& where) {
    if (name != "*" && std::find(names.begin(), names.end(), name) == names.end())
      throw std::invalid_argument(
          fmt::format("{}: unknown host '{}' (hosts: {})", where, name, fmt::join(names, ", ")));
  };
  check_conditions(scenario.defaults, "link defaults");
  for (const LinkSpec& link : scenario.links) {
    const std::string what = fmt::format("link {} - {}", link.a, link.b);
    known(link.a, what);
    known(link.b, what);
    check_conditions(link.conditions, what);
  }
  for (const Fault& fault : scenario.faults) {
    const std::string what = fmt::format("fault {}", fault.label.empty() ? fault_kind_name(fault.kind) : fault.label);
    for (const std::string& host : fault.hosts) known(host, what);
    for (const std::string& host : fault.peers) known(host, what);
    if (!fault.match.host.empty()) known(fault.match.host, what);
    if (!fault.match.peer.empty()) known(fault.match.peer, what);
    check_probability(fault.when.probability, what + " probability");
    if (fault.when.at && *fault.when.at < 0) throw std::invalid_argument(what + ": a time cannot be negative");
    const bool needs_process = fault.kind == FaultKind::kill || fault.kind == FaultKind::pause ||
                               fault.kind == FaultKind::resume;
    if (needs_process && fault.process.empty())
      throw std::invalid_argument(what + ": name the process it applies to");
    if ((fault.kind == FaultKind::slice || fault.kind == FaultKind::partial_write) && fault.size == 0)
      throw std::invalid_argument(what + ": give the most bytes per call (size > 0)");
    if (fault.kind == FaultKind::resolve_fail && fault.error != EAI_AGAIN && fault.error != EAI_NONAME &&
        fault.error != EAI_FAIL && fault.error != 0)
      throw std::invalid_argument(what + ": the error is EAI_AGAIN, EAI_NONAME or EAI_FAIL");
  }

  for (const HostSpec& spec : scenario.hosts) {
    Host* host = find_host(spec.name);
    if (!host) {
      std::vector<Ip> addresses = spec.addresses;
      if (addresses.empty()) {
        addresses = {free_address(taken, Family::inet), free_address(taken, Family::inet6)};
        taken.insert(taken.end(), addresses.begin(), addresses.end());
      }
      host = &add_host(spec.name, std::move(addresses));
    }
    host->clock_offset = spec.clock_offset;
    host->clock_drift = spec.clock_drift;
  }
  links_->set_defaults(scenario.defaults);
  for (const LinkSpec& link : scenario.links) {
    for (const auto& from : hosts_) {
      for (const auto& to : hosts_) {
        auto matches = [](const std::string& name, const Host& host) { return name == "*" || name == host.name; };
        const bool forward = matches(link.a, *from) && matches(link.b, *to);
        const bool backward = !link.one_way && matches(link.b, *from) && matches(link.a, *to);
        if (forward || backward) links_->set(from->id, to->id, link.conditions);
      }
    }
  }
  scenario_ = scenario;
  faults_->arm();
}

Host* Kernel::placement(std::string_view program) const {
  for (const HostSpec& spec : scenario_.hosts)
    for (const std::string& name : spec.processes)
      if (name == program) return find_host(spec.name);
  return nullptr;
}

Nanos Kernel::monotonic_clock(const Host& host) const {
  const Nanos elapsed = clock_.elapsed();
  return kUptimeAtStart + elapsed + static_cast<Nanos>(static_cast<double>(elapsed) * host.clock_drift);
}

Nanos Kernel::wall_clock(const Host& host) const {
  return clock_.epoch() + host.clock_offset + (monotonic_clock(host) - kUptimeAtStart);
}

}  // namespace netsim
