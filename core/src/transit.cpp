#include "transit.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "events.hpp"
#include "stream.hpp"

namespace netsim {
namespace {

// Enough buffers for the segments a window keeps in flight: a larger ring frees the
// buffers of what it delivered.
constexpr std::size_t kKeptBuffers = 64;

void attempt(Kernel& kernel, const std::shared_ptr<Pipe>& pipe, std::uint64_t seq, int tries, Nanos since);

// The socket at one end of the pipe, or null once it is gone. Only one task or
// scheduler call runs at a time, so one that has not expired stays for the call: no
// lock(), whose atomic increment and decrement a segment would pay twice.
Socket* alive(const std::weak_ptr<Socket>& weak, Socket* raw) { return weak.expired() ? nullptr : raw; }

Segment* find(Pipe& pipe, std::uint64_t seq) {
  if (seq < pipe.front_seq || seq - pipe.front_seq >= pipe.queue.size()) return nullptr;
  return &pipe.queue[seq - pipe.front_seq];
}

// The connection is lost: the sender's retries ran out (tcp_write_err()).
void give_up(Kernel& kernel, Pipe& pipe) {
  pipe.failed = true;
  std::size_t in_flight = 0;
  for (std::size_t i = 0; i < pipe.queue.size(); ++i) in_flight += pipe.queue[i].bytes.size();
  pipe.queue.clear();
  if (Socket* receiver = alive(pipe.to, pipe.receiver)) receiver->incoming -= std::min(receiver->incoming, in_flight);
  Socket* sender = alive(pipe.from, pipe.sender);
  if (!sender || sender->dead) return;
  sender->error = ETIMEDOUT;
  sender->dead = true;
  if (sender->peer) sender->peer->peer = nullptr;
  sender->peer = nullptr;
  record(kernel, EventKind::reset, nullptr, -1, sender).err = ETIMEDOUT;
  sender->waiters.notify_all();
}

// Hands the receiver every segment at the front that has arrived, in order.
void deliver(Kernel& kernel, Pipe& pipe) {
  while (!pipe.queue.empty() && pipe.queue.front().arrived) {
    Segment& segment = pipe.queue.front();
    if (Socket* receiver = alive(pipe.to, pipe.receiver)) {
      receiver->incoming -= std::min(receiver->incoming, segment.bytes.size());
      if (receiver->state == SockState::connected && !receiver->dead) {
        switch (segment.kind) {
          case Segment::Kind::data: receiver->rx.append(segment.bytes); break;
          case Segment::Kind::fin: receiver->eof = true; break;
          case Segment::Kind::rst: stream_reset(kernel, *receiver); break;
        }
        receiver->waiters.notify_all();
      }
    }
    pipe.queue.pop_front();
    ++pipe.front_seq;
  }
}

Nanos round_trip(Kernel& kernel, const Pipe& pipe) {
  return kernel.links().conditions(pipe.from_host, pipe.to_host).delay +
         kernel.links().conditions(pipe.to_host, pipe.from_host).delay;
}

void attempt(Kernel& kernel, const std::shared_ptr<Pipe>& pipe, std::uint64_t seq, int tries, Nanos since) {
  Segment* segment = find(*pipe, seq);
  if (!segment || pipe->failed) return;
  Links& links = kernel.links();
  const TcpSettings& tcp = kernel.scenario().tcp;
  const Nanos now = kernel.clock().elapsed();
  if (tries > 0) {
    // Linux gives up once the first unacknowledged segment has waited as long as
    // `retries` backoffs from TCP_RTO_MIN would take (tcp_model_timeout()).
    Nanos limit = 0;
    for (int i = 0; i <= tcp.retries; ++i) limit += backoff(tcp, tcp.rto_min, i);
    if (now - since >= limit) {
      give_up(kernel, *pipe);
      return;
    }
  }
  if (links.held(pipe->from_host, pipe->to_host)) {
    links.keep(pipe->from_host, pipe->to_host,
               [&kernel, pipe, seq, tries, since] { attempt(kernel, pipe, seq, tries, since); });
    return;
  }
  Socket* sender = alive(pipe->from, pipe->sender);
  const bool lost = (sender && sender->blackholed) || links.cut(pipe->from_host, pipe->to_host) ||
                    links.lose(pipe->from_host, pipe->to_host);
  if (lost) {
    Event& event = record(kernel, EventKind::retransmit, nullptr, -1, sender);
    event.value = static_cast<std::int64_t>(segment->bytes.size());
    const Nanos rto = backoff(tcp, round_trip(kernel, *pipe) + tcp.rto_min, tries);
    kernel.scheduler().call_at(now + rto, [&kernel, pipe, seq, tries, since] { attempt(kernel, pipe, seq, tries + 1, since); });
    return;
  }
  const Nanos arrival = links.arrival(pipe->from_host, pipe->to_host, segment->bytes.size(), now);
  ++pipe->arrivals;
  kernel.scheduler().call_at(arrival, *pipe, seq);
}

}  // namespace

Segment& SegmentQueue::push_back() {
  if (size_ == slots_.size()) {
    std::vector<Segment> grown(std::max<std::size_t>(8, 2 * slots_.size()));
    for (std::size_t i = 0; i < size_; ++i) grown[i] = std::move((*this)[i]);
    slots_ = std::move(grown);
    head_ = 0;
  }
  Segment& segment = (*this)[size_++];
  segment.bytes.clear();
  segment.arrived = false;
  return segment;
}

void SegmentQueue::pop_front() {
  if (slots_.size() > kKeptBuffers) std::string().swap(slots_[head_].bytes);
  head_ = (head_ + 1) & (slots_.size() - 1);
  --size_;
}

void SegmentQueue::clear() {
  slots_.clear();
  head_ = size_ = 0;
}

void Pipe::ring(std::uint64_t seq) {
  --arrivals;
  if (Segment* arrived = find(*this, seq)) {
    arrived->arrived = true;
    deliver(*kernel, *this);
  }
}

Nanos backoff(const TcpSettings& tcp, Nanos base, int tries) {
  Nanos rto = base;
  for (int i = 0; i < tries && rto < tcp.rto_max; ++i) rto *= 2;
  return std::min(rto, tcp.rto_max);
}

void stream_transmit(Kernel& kernel, Socket& sender, Socket& receiver, Segment::Kind kind,
                     std::string_view bytes) {
  if (!sender.out) {
    sender.out = std::make_shared<Pipe>();
    sender.out->kernel = &kernel;
    sender.out->from = sender.weak_from_this();
    sender.out->to = receiver.weak_from_this();
    sender.out->sender = &sender;
    sender.out->receiver = &receiver;
    sender.out->from_host = sender.host->id;
    sender.out->to_host = receiver.host->id;
    kernel.links().adopt(sender.out, &sender.out->arrivals);
  }
  const std::shared_ptr<Pipe>& pipe = sender.out;
  if (pipe->failed) return;
  receiver.incoming += bytes.size();
  Segment& segment = pipe->queue.push_back();
  segment.kind = kind;
  segment.bytes.assign(bytes);
  const std::uint64_t seq = pipe->front_seq + pipe->queue.size() - 1;
  attempt(kernel, pipe, seq, 0, kernel.clock().elapsed());
}

}  // namespace netsim
