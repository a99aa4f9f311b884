#pragma once
// Recording a simulated server (docs/cassettes.md, --record-server): a tap on the
// connections made to where it listens. Each end of a tapped connection writes what
// it sends, and its close, to the connection's conversation at the moment it sends
// it. That order is the one the player needs: a reply is never written before the
// request that caused it, whatever the links' delays.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/cassette.hpp"

namespace netsim {

class Kernel;
struct Host;
struct Socket;

namespace cassette {

class Recorder {
 public:
  struct Endpoint {
    std::string service;  // "HOST:PORT"
    const Host* host = nullptr;
    std::uint16_t port = 0;
  };

  // Conversations are appended to `conversations`, which outlives the recorder.
  Recorder(std::deque<Conversation>& conversations, std::vector<Endpoint> endpoints)
      : conversations_(conversations), endpoints_(std::move(endpoints)) {}

  void established(const Socket& listener, Socket& client, Socket& server);
  void sent(const Socket& end, std::string_view bytes, Nanos now);
  void closed(Socket& end, Nanos now);

 private:
  std::deque<Conversation>& conversations_;
  std::vector<Endpoint> endpoints_;
};

}  // namespace cassette

// stream.cpp's hooks. A connection was made to `listener`: tapped when a recorded
// server listens there (Socket::tap set on both ends).
void tap_established(Kernel& kernel, const Socket& listener, Socket& client, Socket& server);
// A tapped `end` sent `bytes` (some of them, when the buffer had room for only part).
void tap_sent(Kernel& kernel, const Socket& end, std::string_view bytes);
// A tapped `end` shut down its sending half or closed: written once (the tap is cleared).
void tap_closed(Kernel& kernel, Socket& end);

}  // namespace netsim
