#pragma once
// The faults of a scenario (scenario.hpp): timed ones fire from scheduler actions,
// the others where the kernel asks (a connect, bytes sent, a blocking call, a name
// lookup). Each one that fires is a `fault` event in the trace.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/kernel.hpp"
#include "netsim/scenario.hpp"
#include "socket.hpp"

namespace netsim {

class Faults {
 public:
  explicit Faults(Kernel& kernel) : kernel_(kernel) {}

  // Schedules the kernel's scenario's timed faults and arms the others.
  void arm();

  // --- asked by the kernel; all cheap without faults of the kind ---
  // A connect from `client` to port `port` on `there`: true when a refuse fault fires.
  bool refuse(Task& self, int fd, const Socket& client, const Host& there, std::uint16_t port);
  // A connection is established: its slice, partial_write and after_bytes faults.
  void established(Socket& client, Socket& server);
  // The most bytes `sender` may send before an after_bytes fault fires (SIZE_MAX: no limit).
  std::size_t allowance(const Socket& sender) const;
  // `sender` sent n bytes of a watched connection: fires the after_bytes faults reached.
  void sent(Socket& sender, std::size_t n);
  // A blocking call `op` is about to block: true when an eintr fault fires.
  bool eintr(Task& self, std::string_view op, int fd);
  // A name lookup: 0, or the EAI_* error a resolve_fail fault makes it fail with.
  int resolve_error(Task& self, std::string_view name);

 private:
  struct Armed {
    const Fault* fault;
    std::uint64_t matches = 0;  // matching events seen (nth)
    std::uint64_t fired = 0;
  };
  // A connection a fault may still act on, seen from its client end.
  struct Connection {
    std::uint64_t conn;
    std::weak_ptr<Socket> client;
    std::weak_ptr<Socket> server;
    std::uint64_t outbound = 0;  // bytes sent by the client so far
    std::uint64_t inbound = 0;
  };

  void fire(const Fault& fault);
  void fire_network(const Fault& fault);
  void fire_process(const Fault& fault);
  void fire_on_connections(const Fault& fault);
  void act_on(const Fault& fault, Connection& connection);
  // The probability, nth and count of an event fault, for one more matching event.
  bool takes(Armed& armed);
  bool matches_connection(const Fault& fault, const Socket& client, const Host& there,
                          std::uint16_t port) const;
  bool matches_process(const std::string& program, int pid) const;
  Connection* find(const Socket& end);
  // Records that the fault fired, described by `text` (and its label).
  Event& announce(const Fault& fault, const std::string& text, const Task* actor = nullptr, int fd = -1,
                  const Socket* socket = nullptr);

  Kernel& kernel_;
  std::vector<Armed> armed_;  // faults that fire on events, in scenario order
  bool connection_faults_ = false;
  std::vector<Connection> connections_;
};

}  // namespace netsim
