#include "netsim/cassette.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>

#include "cassette_internal.hpp"
#include "cassette_tap.hpp"
#include "netsim/errors.hpp"
#include "netsim/fiber_task.hpp"
#include "netsim/simulation.hpp"

namespace netsim::cassette {

struct Deck::State {
  Options options;
  Outcome outcome;
  std::map<std::string, std::size_t> accepted;  // per service, connections so far
  // The connections relayed to real services, with their labels: checked for TLS at
  // the end, since a relay may still be waiting for its service when the run ends.
  std::vector<std::pair<const Conversation*, std::string>> relayed;
  std::optional<Recorder> recorder;  // when a simulated server is recorded
};

namespace {

std::string ordinal(std::size_t n) {
  const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                       : n % 10 == 1                     ? "st"
                       : n % 10 == 2                     ? "nd"
                       : n % 10 == 3                     ? "rd"
                                                         : "th";
  return fmt::format("{}{}", n, suffix);
}

// A TLS record of the handshake (content type 22, version 3.x) opens what the client sent.
bool speaks_tls(const Conversation& log) {
  for (const Chunk& chunk : log.chunks)
    if (chunk.from_client && !chunk.closed) return chunk.bytes.starts_with("\x16\x03");
  return false;
}

// The recorded conversation a service's n-th connection plays (0-based), if any.
const Conversation* recorded(const Options& options, const std::string& service, std::size_t n) {
  for (const Conversation& conversation : options.recorded)
    if (conversation.service == service && n-- == 0) return &conversation;
  return nullptr;
}

void serve_connection(Sys& sys, Deck::State& state, const Service& service, int conn) {
  const std::size_t n = state.accepted[service.name]++;
  state.outcome.conversations.push_back({service.name, {}});
  Conversation& log = state.outcome.conversations.back();
  const std::string label = fmt::format("connection {} (the {} to {})", state.outcome.conversations.size(),
                                        ordinal(n + 1), service.name);
  std::string problem;
  if (const Conversation* played = recorded(state.options, service.name, n)) {
    log.chunks = played->chunks;
    problem = play(sys, conn, *played, state.options, label);
  } else if (service.real) {
    state.relayed.emplace_back(&log, label);
    problem = relay(sys, conn, *service.real, log);
    if (!problem.empty()) problem = fmt::format("cassette: {}: {}", label, problem);
  } else {
    problem = fmt::format("cassette: {}: the cassette has {} connection(s) to {} and no more; record "
                          "again (--record-mode all) or let new ones be recorded (--record-mode "
                          "new_episodes)",
                          label, n, service.name);
  }
  if (!problem.empty() && state.outcome.problem.empty()) state.outcome.problem = problem;
  try {
    sys.close(conn);
  } catch (const Error&) {
  }
}

// Listens where the service is, on IPv4 and IPv6 (a client may try either), and
// serves each connection on a thread of its own.
void listen_and_serve(Sys& sys, Deck::State& state, const Service& service) {
  std::vector<pollfd> listeners;
  for (const Family family : {Family::inet, Family::inet6}) {
    const int fd = sys.socket(family == Family::inet ? AF_INET : AF_INET6, SOCK_STREAM);
    if (family == Family::inet6) sys.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    sys.bind(fd, Address{Ip::any(family), service.port});
    sys.listen(fd, 128);
    listeners.push_back({fd, POLLIN, 0});
  }
  for (;;) {
    sys.poll(listeners, std::nullopt);
    for (pollfd& listener : listeners) {
      if (!(listener.revents & POLLIN)) continue;
      const int conn = sys.accept(listener.fd);
      sys.spawn_thread(service.name, [&state, &service, conn](Sys& thread) {
        serve_connection(thread, state, service, conn);
      });
    }
  }
}

}  // namespace

Deck::Deck(Simulation& simulation, Options options)
    : simulation_(simulation), state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  Kernel& kernel = simulation.kernel();
  std::vector<Recorder::Endpoint> recorded_servers;
  for (const Service& service : state_->options.services) {
    Host* host = service.host.empty() || service.host == "localhost" ? &kernel.default_host()
                                                                     : kernel.find_host(service.host);
    if (!host) {
      // A real service's host is the cassette's own (netsim._cassette.hosts); a recorded
      // server's is one of the run's.
      throw std::invalid_argument(fmt::format(
          "cassette: no simulated host named '{}' for {}{}", service.host, service.name,
          service.simulated ? ": a recorded server runs on a host of the run (--host " + service.host +
                                  "=PROGRAM, or a scenario's [[host]])"
                            : ""));
    }
    if (service.simulated) {
      recorded_servers.push_back({service.name, host, service.port});
      if (host != &kernel.default_host()) {
        std::vector<std::string>& addresses = state_->outcome.lookups[service.host];
        addresses.clear();
        for (const Ip& ip : host->addresses) addresses.push_back(ip.str());
      }
      continue;
    }
    Process& process = simulation.create_process(service.name, host);
    process.set_played_by_netsim();
    pids_.push_back(process.pid());
    State& state = *state_;
    TaskFn body = [&state, &service](Sys& sys) { listen_and_serve(sys, state, service); };
    // Admitted, not staged: it listens before the first program starts.
    kernel.add_task(std::make_unique<FiberTask>(kernel.next_task_id(), process, process.name(),
                                                [&kernel, body](Task& self) { run_task_body(kernel, self, body); }),
                    false);
  }
  if (!recorded_servers.empty()) {
    state_->recorder.emplace(state_->outcome.conversations, std::move(recorded_servers));
    kernel.set_cassette_recorder(&*state_->recorder);
  }
}

// The simulation may outlive the deck (its sockets closing as it is unwound).
Deck::~Deck() {
  if (state_->recorder) simulation_.kernel().set_cassette_recorder(nullptr);
}

void Deck::stop() {
  Kernel& kernel = simulation_.kernel();
  for (const int pid : pids_)
    if (Process* process = kernel.find_process(pid); process && !process->exited())
      for (Task* task : process->tasks()) kernel.scheduler().cancel(*task);
}

Outcome& Deck::outcome() {
  for (const auto& [log, label] : state_->relayed)
    if (speaks_tls(*log) && state_->outcome.problem.empty())
      state_->outcome.problem = fmt::format(
          "cassette: {}: the program spoke TLS to it, and a TLS conversation cannot be replayed (the "
          "handshake differs on every run): record the service without TLS (http://), see "
          "docs/cassettes.md",
          label);
  return state_->outcome;
}

}  // namespace netsim::cassette
