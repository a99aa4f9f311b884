#pragma once
// IPv4 and IPv6 addresses and socket addresses of the virtual network.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace netsim {

enum class Family : std::uint8_t { inet = 2, inet6 = 10 };  // AF_INET, AF_INET6

struct Ip {
  Family family = Family::inet;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first four

  static std::optional<Ip> parse(std::string_view text);
  static Ip v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  static Ip any(Family family);
  static Ip loopback(Family family);

  bool is_any() const;
  bool is_loopback() const;  // 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104
  // ::ffff:a.b.c.d as a.b.c.d; any other address unchanged.
  Ip unmapped() const;
  // a.b.c.d as ::ffff:a.b.c.d; IPv6 addresses unchanged.
  Ip mapped() const;
  std::string str() const;

  auto operator<=>(const Ip&) const = default;
};

struct Address {
  Ip ip;
  std::uint16_t port = 0;

  // "127.0.0.1:8080", "[::1]:8080".
  std::string str() const;
  // Reads a sockaddr_in/sockaddr_in6; nullopt for other families or short lengths.
  static std::optional<Address> from_sockaddr(const sockaddr* sa, unsigned len);
  // Writes a sockaddr_in/sockaddr_in6 into out (at most *len bytes), sets *len to the
  // full size, as getsockname() does.
  void to_sockaddr(sockaddr* out, unsigned* len) const;

  auto operator<=>(const Address&) const = default;
};

}  // namespace netsim
