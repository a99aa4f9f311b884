#pragma once
// The virtual network: which sockets are bound where, ephemeral ports, and which host
// an address leads to. It knows nothing of tasks or blocking.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/kernel.hpp"
#include "netsim/rng.hpp"
#include "socket.hpp"

namespace netsim {

// Linux's default net.ipv4.ip_local_port_range.
inline constexpr std::uint16_t kEphemeralFirst = 32768;
inline constexpr std::uint16_t kEphemeralLast = 60999;

class Net {
 public:
  Net(Rng& rng, const std::vector<std::unique_ptr<Host>>& hosts) : rng_(rng), hosts_(hosts) {}

  // 0 or -EADDRINUSE / -EADDRNOTAVAIL; a zero port takes an ephemeral one.
  int bind(Socket& socket, Address address);
  void unbind(Socket& socket);
  // The host that owns ip, as seen from `from` (loopback stays on `from`).
  Host* route(Host& from, const Ip& ip) const;
  // The local address a socket on `host` uses to reach `to`, port not yet chosen.
  std::optional<Ip> source_for(const Host& host, Family family, const Ip& to) const;
  // The listening stream socket, or bound datagram socket, that receives at `to`.
  Socket* find_receiver(Host& host, bool stream, const Address& to) const;

  std::uint64_t next_socket_id() { return ++sockets_; }

  // AF_UNIX names (unix.cpp), one namespace for the whole simulation. A path stays
  // taken after its socket closes (the file Linux leaves) until it is unlinked.
  std::map<std::string, std::weak_ptr<Socket>, std::less<>> unix_names;
  std::uint64_t next_connection_id() { return ++connections_; }

 private:
  using Key = std::tuple<int, bool, std::uint16_t>;  // host id, stream, port
  std::uint16_t ephemeral_port(const Socket& socket, const Ip& ip) const;
  bool conflicts(const Socket& socket, const Ip& ip, std::uint16_t port) const;

  Rng& rng_;
  const std::vector<std::unique_ptr<Host>>& hosts_;
  std::map<Key, std::vector<Socket*>> bound_;  // in bind order
  std::uint64_t sockets_ = 0;
  std::uint64_t connections_ = 0;
};

// An address as a socket of `family` reports it (IPv4 appears v4-mapped to IPv6).
Address as_family(Address address, Family family);
// Whether a socket bound to `bound` (v6only for IPv6 sockets) takes traffic for `to`.
bool covers(const Ip& bound, bool v6only, const Ip& to);

}  // namespace netsim
