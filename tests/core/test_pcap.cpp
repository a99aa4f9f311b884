// The pcap capture derived from the trace: framing a reader accepts (checksums,
// lengths) and TCP sequence numbers that tell the conversation consistently.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "harness.hpp"
#include "netsim/pcap.hpp"

using namespace netsim;
using namespace netsim::test;

namespace {

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

std::uint32_t be(const std::string& s, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

std::uint32_t le32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

// The one's-complement sum of RFC 1071, folded; a block with its checksum in place
// sums to 0xffff.
std::uint16_t ones_sum(const std::string& bytes) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 2) {
    sum += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 8;
    if (i + 1 < bytes.size()) sum += static_cast<unsigned char>(bytes[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

struct Segment {
  std::uint64_t time = 0;  // ns since 1970
  std::string src, dst;    // address bytes and port, as a key
  int protocol = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::string payload;
};

// Parses the capture, checking every header and checksum on the way.
std::vector<Segment> parse(const std::string& pcap) {
  REQUIRE(pcap.size() >= 24);
  CHECK(le32(pcap, 0) == 0xa1b23c4d);  // nanosecond timestamps
  CHECK(le32(pcap, 20) == 101);        // LINKTYPE_RAW
  std::vector<Segment> out;
  for (std::size_t at = 24; at < pcap.size();) {
    REQUIRE(at + 16 <= pcap.size());
    Segment s;
    s.time = std::uint64_t{le32(pcap, at)} * 1'000'000'000 + le32(pcap, at + 4);
    const std::uint32_t length = le32(pcap, at + 8);
    CHECK(le32(pcap, at + 12) == length);
    const std::string packet = pcap.substr(at + 16, length);
    REQUIRE(packet.size() == length);
    at += 16 + length;
    std::string pseudo, segment;
    const int version = static_cast<unsigned char>(packet[0]) >> 4;
    if (version == 4) {
      CHECK(packet[0] == 0x45);
      CHECK(be(packet, 2, 2) == length);
      CHECK(ones_sum(packet.substr(0, 20)) == 0xffff);
      s.protocol = static_cast<unsigned char>(packet[9]);
      s.src = packet.substr(12, 4);
      s.dst = packet.substr(16, 4);
      segment = packet.substr(20);
      pseudo = s.src + s.dst + std::string(1, '\0') + static_cast<char>(s.protocol);
      pseudo += static_cast<char>(segment.size() >> 8);
      pseudo += static_cast<char>(segment.size() & 0xff);
    } else {
      REQUIRE(version == 6);
      CHECK(be(packet, 4, 2) == length - 40);
      s.protocol = static_cast<unsigned char>(packet[6]);
      s.src = packet.substr(8, 16);
      s.dst = packet.substr(24, 16);
      segment = packet.substr(40);
      pseudo = s.src + s.dst;
      for (int shift = 24; shift >= 0; shift -= 8) pseudo += static_cast<char>((segment.size() >> shift) & 0xff);
      pseudo += std::string(3, '\0');
      pseudo += static_cast<char>(s.protocol);
    }
    CHECK(ones_sum(pseudo + segment) == 0xffff);  // the TCP or UDP checksum
    s.src += segment.substr(0, 2);
    s.dst += segment.substr(2, 2);
    if (s.protocol == IPPROTO_TCP) {
      s.seq = be(segment, 4, 4);
      s.ack = be(segment, 8, 4);
      CHECK(static_cast<unsigned char>(segment[12]) == 0x50);
      s.flags = static_cast<std::uint8_t>(segment[13]);
      s.payload = segment.substr(20);
    } else {
      REQUIRE(s.protocol == IPPROTO_UDP);
      CHECK(be(segment, 4, 2) == segment.size());
      s.payload = segment.substr(8);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Follows each TCP direction: every segment starts where the previous one ended and
// acknowledges everything the other side sent. Returns the bytes each direction
// carried, keyed by (source, destination).
std::map<std::pair<std::string, std::string>, std::string> follow(const std::vector<Segment>& segments) {
  std::map<std::pair<std::string, std::string>, std::uint32_t> next;
  std::map<std::pair<std::string, std::string>, std::string> data;
  for (const Segment& s : segments) {
    if (s.protocol != IPPROTO_TCP) continue;
    const auto key = std::pair(s.src, s.dst);
    const auto back = std::pair(s.dst, s.src);
    if (s.flags & kSyn) {
      next[key] = s.seq;
      CHECK(bool(s.flags & kAck) == next.contains(back));  // SYN, then SYN-ACK
    }
    REQUIRE(next.contains(key));
    CHECK(s.seq == next[key]);
    if (s.flags & kAck) CHECK(s.ack == next[back]);
    next[key] += static_cast<std::uint32_t>(s.payload.size()) + ((s.flags & (kSyn | kFin)) ? 1 : 0);
    data[key] += s.payload;
  }
  return data;
}

Config seeded(std::uint64_t seed) {
  Config config;
  config.seed = seed;
  return config;
}

int count_flags(const std::vector<Segment>& segments, std::uint8_t flags) {
  int n = 0;
  for (const Segment& s : segments) n += (s.flags & flags) == flags;
  return n;
}

void echo_over(Simulation& sim, const Ip& ip, const std::string& message) {
  const int family = ip.family == Family::inet ? AF_INET : AF_INET6;
  sim.spawn("server", [=](Sys& sys) {
    const int listener = sys.socket(family, SOCK_STREAM);
    sys.bind(listener, {ip, 7});
    sys.listen(listener, 1);
    const int conn = sys.accept(listener);
    std::string got;
    for (std::string part; !(part = sys.recv(conn, 100000)).empty();) got += part;
    sys.send(conn, got);
    sys.close(conn);
  });
  sim.spawn("client", [=](Sys& sys) {
    const int fd = sys.socket(family, SOCK_STREAM);
    sys.connect(fd, {ip, 7});
    sys.send(fd, message);
    sys.shutdown(fd, SHUT_WR);
    while (!sys.recv(fd, 100000).empty()) {
    }
    sys.close(fd);
  });
}

}  // namespace

TEST_CASE("pcap: a TCP echo has a handshake, consistent sequence numbers, its bytes and two FINs",
          "[pcap]") {
  const auto [family, ip] = GENERATE(std::pair("IPv4", Ip::v4(127, 0, 0, 1)),
                                     std::pair("IPv6", Ip::loopback(Family::inet6)));
  INFO(family);
  // Larger than one segment: the send is cut at the MSS.
  const std::string message = std::string(70000, 'x') + "end";
  Simulation sim(seeded(3));
  echo_over(sim, ip, message);
  run_checked(sim);
  const std::string pcap = make_pcap(sim.trace(), kDefaultEpoch);
  const std::vector<Segment> segments = parse(pcap);
  REQUIRE(segments.size() >= 3);
  CHECK(segments[0].flags == kSyn);
  CHECK(segments[1].flags == (kSyn | kAck));
  CHECK(segments[2].flags == kAck);
  CHECK(segments[0].time == static_cast<std::uint64_t>(kDefaultEpoch));
  const auto data = follow(segments);
  const std::string client = segments[0].src, server = segments[0].dst;
  CHECK(data.at({client, server}) == message);
  CHECK(data.at({server, client}) == message);
  CHECK(count_flags(segments, kFin | kAck) == 2);
  CHECK(count_flags(segments, kRst) == 0);
  for (std::size_t i = 1; i < segments.size(); ++i) CHECK(segments[i].time >= segments[i - 1].time);
  CHECK(make_pcap(sim.trace(), kDefaultEpoch) == pcap);
}

TEST_CASE("pcap: a send to a closed peer is answered with RST", "[pcap]") {
  Simulation sim(seeded(1));
  sim.spawn("server", [](Sys& sys) {
    const int listener = listen_on(sys, 9);
    sys.close(sys.accept(listener));
  });
  sim.spawn("client", [](Sys& sys) {
    const int fd = connect_to(sys, 9);
    sys.sleep(kMillisecond);
    sys.send(fd, "late");
  });
  run_checked(sim);
  const std::vector<Segment> segments = parse(make_pcap(sim.trace(), kDefaultEpoch));
  follow(segments);
  REQUIRE(count_flags(segments, kRst) == 1);
  // From the closed server to the client.
  CHECK(segments.back().flags & kRst);
  CHECK(segments.back().src == segments[0].dst);
}

TEST_CASE("pcap: each UDP datagram sent is a frame from its real source address", "[pcap]") {
  Simulation sim(seeded(2));
  sim.spawn("server", [](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.bind(fd, {Ip::any(Family::inet), 53});
    Address from;
    sys.sendto(fd, "re:" + sys.recvfrom(fd, 100, &from), from);
  });
  sim.spawn("client", [](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_DGRAM);
    sys.sendto(fd, "query", loopback(53));
    sys.recv(fd, 100);
  });
  run_checked(sim);
  const std::vector<Segment> segments = parse(make_pcap(sim.trace(), kDefaultEpoch + kSecond));
  REQUIRE(segments.size() == 2);
  CHECK(segments[0].payload == "query");
  CHECK(segments[1].payload == "re:query");
  CHECK(segments[0].src == segments[1].dst);
  CHECK(segments[0].src.substr(0, 4) == std::string("\x7f\0\0\x01", 4));  // not 0.0.0.0
  CHECK(segments[0].time == static_cast<std::uint64_t>(kDefaultEpoch + kSecond));
}
