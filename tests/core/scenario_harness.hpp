#pragma once
// A two-host network for the link and fault tests: "server" and "client" hosts, each
// running the program of that name.
#include "harness.hpp"
#include "netsim/scenario.hpp"

namespace netsim::test {

inline Scenario two_hosts(LinkConditions conditions = {}) {
  Scenario scenario;
  scenario.hosts = {HostSpec{.name = "server", .processes = {"server"}},
                    HostSpec{.name = "client", .processes = {"client"}}};
  scenario.links = {LinkSpec{.a = "client", .b = "server", .conditions = conditions}};
  return scenario;
}

// The server host's first address (10.0.0.2 by the automatic plan), port `port`.
inline Address server_at(Sys& sys, std::uint16_t port) { return {sys.resolve("server").front(), port}; }

inline int listen_any(Sys& sys, std::uint16_t port, int backlog = 16) {
  const int fd = sys.socket(AF_INET, SOCK_STREAM);
  sys.bind(fd, {Ip::any(Family::inet), port});
  sys.listen(fd, backlog);
  return fd;
}

inline Nanos seconds_of(Sys& sys) { return sys.monotonic(); }

}  // namespace netsim::test
