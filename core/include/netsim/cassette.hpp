#pragma once
// Cassettes (docs/cassettes.md): services outside the simulation, recorded once from
// the real network and played back as simulated hosts. The file format is the
// front-end's (netsim/_cassette.py); here is what a run does with it: a simulated
// process per service listens where the service is, and each connection a program
// opens to it is either played from a recorded conversation, checked byte by byte
// (or request by request), or relayed to the real service and recorded. A service
// can also be a simulated server of the run itself: then nothing of netsim listens,
// and the connections made to the server are recorded as they go (cassette_tap.hpp).
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/clock.hpp"

namespace netsim {

class Simulation;

namespace cassette {

// What one side of a connection did: sent bytes, or closed its sending half.
struct Chunk {
  bool from_client = false;
  std::string bytes;    // empty when closed
  bool closed = false;  // the sender shut down or closed: end of stream
  Nanos time = 0;       // virtual time since the start of the recording run
};

// One connection of a program to a service, in the order things happened.
struct Conversation {
  std::string service;  // "HOST:PORT" as --allow names it
  std::vector<Chunk> chunks;
};

enum class Match : std::uint8_t {
  bytes,  // what the program sends must be the recorded bytes
  http,   // HTTP/1.x requests one by one, the ignored headers left out
};

struct Service {
  std::string name;  // "HOST:PORT"
  std::string host;  // the simulated host it listens on; "" or "localhost": the default host
  std::uint16_t port = 0;
  // Where the real service is; none: the service is played only (a connection beyond
  // the recorded ones is a mismatch).
  std::optional<Address> real;
  // A program of the run listens there, and its connections are recorded, not served.
  bool simulated = false;
};

struct Options {
  std::vector<Service> services;
  // The recorded conversations; a service's n-th connection plays its n-th one.
  std::vector<Conversation> recorded;
  Match match = Match::bytes;
  std::vector<std::string> ignored_headers;  // for Match::http, any case
};

struct Outcome {
  // Every connection of the run, in the order they were accepted (a simulated
  // server's: made): played ones as recorded, relayed and tapped ones as they went.
  std::deque<Conversation> conversations;  // a deque: handlers keep references
  // The first difference between what a program sent and the recording, or why a
  // real service could not be reached; "" when none.
  std::string problem;
  // The addresses of the named hosts whose simulated servers were recorded, by host:
  // a replay gives them to the host it plays the server on.
  std::map<std::string, std::vector<std::string>> lookups;
};

// The services of a run: construct after the programs are added (their pids stay
// what they are without a cassette), before the scheduler runs; stop() before the
// simulation's processes are unwound.
class Deck {
 public:
  Deck(Simulation& simulation, Options options);
  ~Deck();
  Deck(const Deck&) = delete;
  Deck& operator=(const Deck&) = delete;

  // Ends the services' processes (they would otherwise wait for connections forever).
  void stop();
  // After the run: its connections, and the first problem (a TLS conversation
  // recorded counts as one).
  Outcome& outcome();

  struct State;

 private:
  Simulation& simulation_;
  std::unique_ptr<State> state_;
  std::vector<int> pids_;
};

}  // namespace cassette
}  // namespace netsim
