#include "netsim/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace netsim {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped(const Ip& ip) {
  return ip.family == Family::inet6 &&
         std::memcmp(ip.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

}  // namespace

std::optional<Ip> Ip::parse(std::string_view text) {
  const std::string s(text);
  Ip ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  ip.family = Family::inet6;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

Ip Ip::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  Ip ip;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

Ip Ip::any(Family family) {
  Ip ip;
  ip.family = family;
  return ip;
}

Ip Ip::loopback(Family family) {
  if (family == Family::inet) return v4(127, 0, 0, 1);
  Ip ip = any(Family::inet6);
  ip.bytes[15] = 1;
  return ip;
}

bool Ip::is_any() const { return unmapped() == any(unmapped().family); }

bool Ip::is_loopback() const {
  const Ip plain = unmapped();
  return plain.family == Family::inet ? plain.bytes[0] == 127 : plain == loopback(Family::inet6);
}

Ip Ip::unmapped() const {
  if (!is_mapped(*this)) return *this;
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

Ip Ip::mapped() const {
  if (family == Family::inet6) return *this;
  Ip ip = any(Family::inet6);
  std::memcpy(ip.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
  std::memcpy(ip.bytes.data() + 12, bytes.data(), 4);
  return ip;
}

std::string Ip::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::inet ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string Address::str() const {
  const std::string host = ip.str();
  const std::string p = std::to_string(port);
  return ip.family == Family::inet ? host + ":" + p : "[" + host + "]:" + p;
}

std::optional<Address> Address::from_sockaddr(const sockaddr* sa, unsigned len) {
  if (sa == nullptr || len < sizeof(sa_family_t)) return std::nullopt;
  Address address;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    std::memcpy(address.ip.bytes.data(), &in.sin_addr, 4);
    address.port = ntohs(in.sin_port);
    return address;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    address.ip.family = Family::inet6;
    std::memcpy(address.ip.bytes.data(), &in6.sin6_addr, 16);
    address.port = ntohs(in6.sin6_port);
    return address;
  }
  return std::nullopt;
}

void Address::to_sockaddr(sockaddr* out, unsigned* len) const {
  sockaddr_storage storage{};
  unsigned size = 0;
  if (ip.family == Family::inet) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, ip.bytes.data(), 4);
    size = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, ip.bytes.data(), 16);
    size = sizeof(sockaddr_in6);
  }
  std::memcpy(out, &storage, *len < size ? *len : size);
  *len = size;
}

}  // namespace netsim
