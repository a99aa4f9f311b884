#pragma once
// A simulated socket: the state Linux keeps per socket, reduced to what programs can
// observe through the socket calls.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "netsim/address.hpp"
#include "netsim/kernel.hpp"
#include "netsim/task.hpp"

namespace netsim {

// Bytes waiting to be read. Consumed from the front without moving the rest on
// every read; the storage is compacted once the read part dominates.
class ByteQueue {
 public:
  std::size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return std::string_view(data_).substr(head_); }
  void append(std::string_view bytes) { data_.append(bytes); }
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == data_.size()) {
      data_.clear();
      head_ = 0;
    } else if (head_ > 4096 && head_ * 2 > data_.size()) {
      data_.erase(0, head_);
      head_ = 0;
    }
  }

 private:
  std::string data_;
  std::size_t head_ = 0;
};

struct Datagram {
  std::string data;
  Address from;
  std::string from_name;  // a Unix sender's name (unix.hpp); empty: unnamed
};

enum class SockState : std::uint8_t { open, listening, connecting, connected, closed };

class VirtualTimer;
struct Epoll;
struct EpollWatch;

struct Socket : std::enable_shared_from_this<Socket> {
  std::uint64_t id = 0;  // creation order: names sockets in descriptions
  bool stream = true;    // SOCK_STREAM, else SOCK_DGRAM
  Family family = Family::inet;
  Host* host = nullptr;
  SockState state = SockState::open;
  bool nonblocking = false;
  bool v6only = false;
  bool reuseaddr = false;
  bool reuseport = false;
  std::size_t rcvbuf = 0;
  int open_fds = 0;
  std::optional<Address> local;
  std::optional<Address> remote;
  int error = 0;  // pending SO_ERROR, reported once by the next call that can fail
  std::map<std::pair<int, int>, int> options;  // accepted options we do not model
  WaitQueue waiters;

  // Listening stream socket.
  int backlog = 0;
  std::deque<std::shared_ptr<Socket>> accept_queue;  // established, not yet accepted
  std::deque<std::weak_ptr<Socket>> syn_queue;       // connects waiting for room

  // Connected stream socket.
  std::uint64_t conn = 0;
  Socket* peer = nullptr;  // the other end while it is open
  ByteQueue rx;
  bool rd_shut = false;  // shutdown(SHUT_RD) here
  bool wr_shut = false;  // shutdown(SHUT_WR) here
  bool eof = false;      // the peer's FIN arrived: reads end once rx is drained
  bool dead = false;     // reset: nothing more can be sent or received
  // A connection to a recorded simulated server (cassette_tap.hpp): the number of its
  // conversation, 0 when not recorded; and whether this end is the client's.
  std::size_t tap = 0;
  bool tap_client = false;

  // Datagram socket.
  std::deque<Datagram> datagrams;
  std::size_t datagram_bytes = 0;

  // AF_UNIX (unix.cpp): named by sun_path bytes, not by local/remote.
  bool unix_domain = false;
  std::string name;       // empty: unnamed
  std::string peer_name;  // a connected stream's peer's name
  std::weak_ptr<Socket> target;  // a connected datagram socket's peer
  // A pipe's end (pipe.cpp) or a scripted stdin: a Unix stream underneath, which
  // fstat, lseek and ioctl must still tell apart from a socket.
  bool pipe = false;

  // An eventfd (eventfd.cpp) is no socket, but a descriptor the same calls reach.
  bool eventfd = false;
  bool semaphore = false;  // EFD_SEMAPHORE
  std::uint64_t counter = 0;
  // A timerfd (timers.cpp) is an eventfd whose counter counts its timer's expirations;
  // it cannot be written.
  bool timerfd = false;
  int clockid = 0;
  std::shared_ptr<VirtualTimer> timer;

  // An epoll instance (epoll.cpp) is no socket either: its interest and ready lists.
  std::shared_ptr<Epoll> epoll;
  // The epoll entries watching this descriptor, null while there are none (epoll.cpp).
  std::shared_ptr<EpollWatch> epoll_watch;

  // Faults and links (faults.cpp, transit.cpp); all inert without a scenario.
  int creator = 0;             // pid of the process that made it, for fault matching
  std::size_t incoming = 0;    // bytes on their way to it across a link
  std::size_t max_recv = 0;    // slice: recv returns at most a draw in [1, max_recv]
  std::size_t max_send = 0;    // partial_write: send takes at most this many bytes
  bool watched = false;        // a fault counts the bytes it sends (after_bytes)
  bool blackholed = false;     // nothing it sends arrives any more
  std::shared_ptr<struct Pipe> out;  // what it sent that is still crossing a link

  // Room in the receive buffer, less what is already on its way.
  std::size_t room() const {
    const std::size_t used = rx.size() + incoming;
    return used < rcvbuf ? rcvbuf - used : 0;
  }
};

}  // namespace netsim
