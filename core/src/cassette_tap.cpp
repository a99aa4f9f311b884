#include "cassette_tap.hpp"

#include "netsim/kernel.hpp"
#include "socket.hpp"

namespace netsim {
namespace cassette {

void Recorder::established(const Socket& listener, Socket& client, Socket& server) {
  for (const Endpoint& endpoint : endpoints_) {
    if (listener.host != endpoint.host || !listener.local || listener.local->port != endpoint.port) continue;
    conversations_.push_back({endpoint.service, {}});
    client.tap = server.tap = conversations_.size();
    client.tap_client = true;
    server.tap_client = false;
    return;
  }
}

void Recorder::sent(const Socket& end, std::string_view bytes, Nanos now) {
  conversations_[end.tap - 1].chunks.push_back(
      {end.tap_client, std::string(bytes), false, now});
}

void Recorder::closed(Socket& end, Nanos now) {
  conversations_[end.tap - 1].chunks.push_back({end.tap_client, "", true, now});
  end.tap = 0;
}

}  // namespace cassette

void tap_established(Kernel& kernel, const Socket& listener, Socket& client, Socket& server) {
  if (cassette::Recorder* recorder = kernel.cassette_recorder())
    recorder->established(listener, client, server);
}

void tap_sent(Kernel& kernel, const Socket& end, std::string_view bytes) {
  if (cassette::Recorder* recorder = kernel.cassette_recorder()) recorder->sent(end, bytes, kernel.clock().elapsed());
}

void tap_closed(Kernel& kernel, Socket& end) {
  if (cassette::Recorder* recorder = kernel.cassette_recorder()) recorder->closed(end, kernel.clock().elapsed());
}

}  // namespace netsim
