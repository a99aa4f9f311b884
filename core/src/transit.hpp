#pragma once
// One direction of a stream connection across a link that delays, loses or keeps what
// crosses it: segments leave in order, are sent again after a retransmission timeout
// when lost (TcpSettings), and reach the receiver in order, as TCP's sequence numbers
// make them. A perfect link bypasses all of this (stream_direct).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "link.hpp"
#include "netsim/kernel.hpp"
#include "netsim/scheduler.hpp"
#include "socket.hpp"

namespace netsim {

struct Segment {
  enum class Kind : std::uint8_t { data, fin, rst } kind = Kind::data;
  std::string bytes;
  bool arrived = false;
};

// What a pipe has sent and not yet delivered, in order: a ring of slots whose buffers
// stay for the segments that follow, so that bytes are copied in once and out once
// and nothing is allocated once the window has grown.
class SegmentQueue {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Segment& operator[](std::size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  const Segment& operator[](std::size_t i) const { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  Segment& front() { return slots_[head_]; }
  // A new last segment, not arrived, with no bytes (but a delivered one's buffer).
  Segment& push_back();
  void pop_front();
  // Drops every segment and buffer.
  void clear();

 private:
  std::vector<Segment> slots_;  // a power of two of them, once there are any
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

// What the hot path of a delayed link costs: a segment's buffer is one a delivered
// segment left behind (SegmentQueue), and its arrival a scheduler call to the pipe
// itself (the links keep it alive): no allocation and no function object once the
// window has grown.
struct Pipe final : Scheduler::Alarm {
  Kernel* kernel = nullptr;
  std::weak_ptr<Socket> from;
  std::weak_ptr<Socket> to;
  // The same two sockets, to be read only while their weak_ptr has not expired
  // (alive(), transit.cpp).
  Socket* sender = nullptr;
  Socket* receiver = nullptr;
  int from_host = 0;
  int to_host = 0;
  SegmentQueue queue;
  std::uint64_t front_seq = 0;  // the number of queue.front(): segments count from 0
  bool failed = false;          // the sender gave up (ETIMEDOUT)
  int arrivals = 0;             // arrival calls pending (Links::adopt)

  // Segment `seq` has arrived.
  void ring(std::uint64_t seq) override;
};

// What `sender` sends to `receiver` goes straight into its buffer: the link is
// perfect and nothing sent before is still on its way.
inline bool stream_direct(Kernel& kernel, const Socket& sender, const Socket& receiver) {
  return (!sender.out || sender.out->queue.empty()) && !sender.blackholed &&
         kernel.links().perfect(sender.host->id, receiver.host->id);
}
// Sends a segment from `sender` to `receiver` across their link (bytes: data only).
void stream_transmit(Kernel& kernel, Socket& sender, Socket& receiver, Segment::Kind kind,
                     std::string_view bytes = {});
// The retransmission timeout before try `tries` (0: the first), from `base`.
Nanos backoff(const TcpSettings& tcp, Nanos base, int tries);

}  // namespace netsim
