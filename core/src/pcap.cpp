#include "netsim/pcap.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <string_view>

namespace netsim {
namespace {

// pcap's nanosecond-resolution magic, and raw IP frames (the version nibble tells
// IPv4 from IPv6), so that loopback and simulated hosts' addresses fit one file.
constexpr std::uint32_t kMagicNanos = 0xa1b23c4d;
constexpr std::uint32_t kLinktypeRaw = 101;
constexpr std::uint32_t kSnapLength = 262144;
// Loopback's MTU (65536) less the IPv6 and TCP headers and timestamps, as Linux's lo
// advertises it: the largest segment a send is cut into, for either family.
constexpr std::size_t kMss = 65464;
constexpr std::uint8_t kTtl = 64;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint16_t kWindow = 65535;

enum TcpFlag : std::uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10 };

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

// The file's own headers are little-endian on every host, so the bytes never
// depend on the machine that wrote them (readers go by the magic).
void put32le(std::string& out, std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((v >> shift) & 0xff);
}

void patch16(std::string& out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v & 0xff);
}

// The Internet checksum's running sum (RFC 1071) over bytes starting at an even offset.
std::uint32_t add_sum(std::uint32_t sum, std::string_view bytes) {
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
    sum += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 8 |
                                      static_cast<unsigned char>(bytes[i + 1]));
  if (bytes.size() % 2) sum += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes.back()) << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::string_view ip_bytes(const Ip& ip) {
  const auto* data = reinterpret_cast<const char*>(ip.bytes.data());
  return {data, ip.family == Family::inet ? 4u : 16u};
}

// Both ends in one family, as a packet has them: IPv4 unless one end is IPv6 proper.
std::pair<Address, Address> same_family(Address from, Address to) {
  from.ip = from.ip.unmapped();
  to.ip = to.ip.unmapped();
  if (from.ip.family != to.ip.family) {
    from.ip = from.ip.mapped();
    to.ip = to.ip.mapped();
  }
  return {from, to};
}

// A TCP connection as the capture tells it: the client's and the server's addresses
// and the next sequence number each side sends.
struct Flow {
  Address end[2];  // 0: the client, 1: the server
  std::uint32_t next_seq[2] = {0, 0};
  bool fin_sent[2] = {false, false};
  bool reset = false;
};

// An initial sequence number that looks like one (not 0) yet depends only on the
// connection's id and side: splitmix64's finaliser.
std::uint32_t initial_seq(std::uint64_t conn, int side) {
  std::uint64_t z = conn * 2 + static_cast<std::uint64_t>(side) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<std::uint32_t>(z ^ (z >> 31));
}

class Capture {
 public:
  explicit Capture(Nanos epoch) : epoch_(epoch) {
    put32le(out_, kMagicNanos);
    out_ += std::string_view("\x02\x00\x04\x00", 4);  // version 2.4
    put32le(out_, 0);                                   // GMT offset
    put32le(out_, 0);                                   // timestamp accuracy
    put32le(out_, kSnapLength);
    put32le(out_, kLinktypeRaw);
  }

  void add(const Event& e) {
    if (!e.local || !e.remote) return;  // Unix sockets, pipes: not on the wire
    if (e.datagram) {
      if (e.kind == EventKind::send) udp(e);
    } else {
      tcp(e);
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void udp(const Event& e) {
    const auto [from, to] = same_family(*e.local, *e.remote);
    std::string segment;
    put16(segment, from.port);
    put16(segment, to.port);
    put16(segment, static_cast<std::uint16_t>(8 + e.data.size()));
    put16(segment, 0);
    segment += payload_of(e);
    // UDP sends an all-zero checksum as all ones (zero means "none").
    const std::uint16_t sum = checksum(from, to, kUdp, segment);
    patch16(segment, 6, sum ? sum : 0xffff);
    frame(e.time, from, to, kUdp, segment);
  }

  void tcp(const Event& e) {
    if (e.kind == EventKind::connect) {
      Flow& flow = flows_[e.conn];
      std::tie(flow.end[0], flow.end[1]) = same_family(*e.local, *e.remote);
      flow.next_seq[0] = initial_seq(e.conn, 0);
      flow.next_seq[1] = initial_seq(e.conn, 1);
      segment(e.time, flow, 0, kSyn, {});
      segment(e.time, flow, 1, kSyn | kAck, {});
      segment(e.time, flow, 0, kAck, {});
      return;
    }
    const auto it = flows_.find(e.conn);
    if (it == flows_.end() || it->second.reset) return;
    Flow& flow = it->second;
    const int side = same_family(*e.local, *e.remote).first == flow.end[0] ? 0 : 1;
    if (e.kind == EventKind::send) {
      const std::string payload = payload_of(e);
      for (std::size_t at = 0; at < payload.size(); at += kMss) {
        segment(e.time, flow, side, kPsh | kAck, std::string_view(payload).substr(at, kMss));
        segment(e.time, flow, 1 - side, kAck, {});
      }
    } else if ((e.kind == EventKind::shutdown && e.value != SHUT_RD) || e.kind == EventKind::close) {
      if (flow.fin_sent[side]) return;
      flow.fin_sent[side] = true;
      segment(e.time, flow, side, kFin | kAck, {});
      segment(e.time, flow, 1 - side, kAck, {});
    } else if (e.kind == EventKind::reset) {
      // The event names the socket that was reset: the RST comes from its peer.
      segment(e.time, flow, 1 - side, kRst | kAck, {});
      flow.reset = true;
    }
  }

  // The bytes sent; zeros of the same length when the trace kept sizes only.
  static std::string payload_of(const Event& e) {
    const auto size = static_cast<std::size_t>(std::max<std::int64_t>(e.value, 0));
    return e.data.size() == size ? e.data : std::string(size, '\0');
  }

  void segment(Nanos time, Flow& flow, int side, std::uint8_t flags, std::string_view payload) {
    const Address& from = flow.end[side];
    const Address& to = flow.end[1 - side];
    std::string segment;
    put16(segment, from.port);
    put16(segment, to.port);
    put32(segment, flow.next_seq[side]);
    put32(segment, (flags & kAck) ? flow.next_seq[1 - side] : 0);
    segment += static_cast<char>(5 << 4);  // 20-byte header, no options
    segment += static_cast<char>(flags);
    put16(segment, kWindow);
    put16(segment, 0);  // checksum, below
    put16(segment, 0);  // urgent pointer
    segment += payload;
    patch16(segment, 16, checksum(from, to, kTcp, segment));
    flow.next_seq[side] += static_cast<std::uint32_t>(payload.size() + ((flags & (kSyn | kFin)) ? 1 : 0));
    frame(time, from, to, kTcp, segment);
  }

  // Over the pseudo-header (addresses, protocol, length) and the segment.
  static std::uint16_t checksum(const Address& from, const Address& to, std::uint8_t protocol,
                                std::string_view segment) {
    std::string pseudo;
    pseudo += ip_bytes(from.ip);
    pseudo += ip_bytes(to.ip);
    if (from.ip.family == Family::inet) {
      pseudo += '\0';
      pseudo += static_cast<char>(protocol);
      put16(pseudo, static_cast<std::uint16_t>(segment.size()));
    } else {
      put32(pseudo, static_cast<std::uint32_t>(segment.size()));
      pseudo += std::string_view("\0\0\0", 3);
      pseudo += static_cast<char>(protocol);
    }
    return fold(add_sum(add_sum(0, pseudo), segment));
  }

  void frame(Nanos time, const Address& from, const Address& to, std::uint8_t protocol,
             std::string_view segment) {
    std::string packet;
    if (from.ip.family == Family::inet) {
      packet += '\x45';  // version 4, 20-byte header
      packet += '\0';
      put16(packet, static_cast<std::uint16_t>(20 + segment.size()));
      put16(packet, ++ip_id_);
      put16(packet, 0x4000);  // don't fragment
      packet += static_cast<char>(kTtl);
      packet += static_cast<char>(protocol);
      put16(packet, 0);
      packet += ip_bytes(from.ip);
      packet += ip_bytes(to.ip);
      patch16(packet, 10, fold(add_sum(0, packet)));
    } else {
      put32(packet, 0x60000000);  // version 6, no traffic class or flow label
      put16(packet, static_cast<std::uint16_t>(segment.size()));
      packet += static_cast<char>(protocol);
      packet += static_cast<char>(kTtl);
      packet += ip_bytes(from.ip);
      packet += ip_bytes(to.ip);
    }
    packet += segment;
    const Nanos at = epoch_ + time;
    put32le(out_, static_cast<std::uint32_t>(at / kSecond));
    put32le(out_, static_cast<std::uint32_t>(at % kSecond));
    put32le(out_, static_cast<std::uint32_t>(packet.size()));
    put32le(out_, static_cast<std::uint32_t>(packet.size()));
    out_ += packet;
  }

  Nanos epoch_;
  std::string out_;
  std::map<std::uint64_t, Flow> flows_;
  std::uint16_t ip_id_ = 0;
};

}  // namespace

std::string make_pcap(const Trace& trace, Nanos epoch) {
  Capture capture(epoch);
  for (const Event& event : trace.events()) capture.add(event);
  return capture.take();
}

}  // namespace netsim
