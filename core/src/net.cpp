#include "net.hpp"

#include <algorithm>
#include <cerrno>

namespace netsim {

Address as_family(Address address, Family family) {
  address.ip = family == Family::inet6 ? address.ip.mapped() : address.ip.unmapped();
  return address;
}

bool covers(const Ip& bound, bool v6only, const Ip& to) {
  const Ip mine = bound.unmapped();
  const Ip other = to.unmapped();
  if (!mine.is_any()) return mine == other;
  if (mine.family == Family::inet) return other.family == Family::inet;
  // The IPv6 wildcard is dual-stack unless IPV6_V6ONLY is set, as on Linux.
  return other.family == Family::inet6 || !v6only;
}

bool Net::conflicts(const Socket& socket, const Ip& ip, std::uint16_t port) const {
  const auto it = bound_.find({socket.host->id, socket.stream, port});
  if (it == bound_.end()) return false;
  for (const Socket* other : it->second) {
    if (socket.reuseport && other->reuseport) continue;
    const Ip& theirs = other->local->ip;
    if (covers(theirs, other->v6only, ip) || covers(ip, socket.v6only, theirs)) return true;
  }
  return false;
}

std::uint16_t Net::ephemeral_port(const Socket& socket, const Ip& ip) const {
  // A seeded starting point, then the first free port after it: the same ports on
  // every run with the same seed, different ones across seeds.
  constexpr std::uint32_t span = kEphemeralLast - kEphemeralFirst + 1;
  const auto start = static_cast<std::uint32_t>(rng_.below(span));
  for (std::uint32_t i = 0; i < span; ++i) {
    const auto port = static_cast<std::uint16_t>(kEphemeralFirst + (start + i) % span);
    if (!conflicts(socket, ip, port)) return port;
  }
  return 0;
}

int Net::bind(Socket& socket, Address address) {
  const Ip plain = address.ip.unmapped();
  const auto& own = socket.host->addresses;
  const bool local = plain.is_any() || plain.is_loopback() ||
                     std::any_of(own.begin(), own.end(), [&](const Ip& ip) { return ip == plain; });
  if (!local) return -EADDRNOTAVAIL;
  if (address.port == 0) {
    address.port = ephemeral_port(socket, address.ip);
    if (address.port == 0) return -EADDRINUSE;
  } else if (conflicts(socket, address.ip, address.port)) {
    return -EADDRINUSE;
  }
  socket.local = address;
  bound_[{socket.host->id, socket.stream, address.port}].push_back(&socket);
  return 0;
}

void Net::unbind(Socket& socket) {
  if (!socket.local) return;
  const auto it = bound_.find({socket.host->id, socket.stream, socket.local->port});
  if (it == bound_.end()) return;
  std::erase(it->second, &socket);
  if (it->second.empty()) bound_.erase(it);
}

Host* Net::route(Host& from, const Ip& ip) const {
  const Ip plain = ip.unmapped();
  if (plain.is_loopback()) return &from;
  for (const auto& host : hosts_)
    for (const Ip& own : host->addresses)
      if (own == plain) return host.get();
  return nullptr;
}

std::optional<Ip> Net::source_for(const Host& host, Family family, const Ip& to) const {
  const Ip plain = to.unmapped();
  if (plain.is_loopback()) return as_family({Ip::loopback(plain.family), 0}, family).ip;
  for (const Ip& own : host.addresses)
    if (own.family == plain.family) return as_family({own, 0}, family).ip;
  return std::nullopt;
}

Socket* Net::find_receiver(Host& host, bool stream, const Address& to) const {
  const auto it = bound_.find({host.id, stream, to.port});
  if (it == bound_.end()) return nullptr;
  Socket* wildcard = nullptr;
  for (Socket* socket : it->second) {
    if (stream && socket->state != SockState::listening) continue;
    if (!covers(socket->local->ip, socket->v6only, to.ip)) continue;
    if (!socket->local->ip.is_any()) return socket;  // an exact address wins
    if (!wildcard) wildcard = socket;
  }
  return wildcard;
}

}  // namespace netsim
