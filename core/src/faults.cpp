#include "faults.hpp"

#include <netdb.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "events.hpp"
#include "link.hpp"
#include "net.hpp"
#include "stream.hpp"

namespace netsim {
namespace {

bool is_connection_fault(FaultKind kind) {
  return kind == FaultKind::refuse || kind == FaultKind::reset || kind == FaultKind::close ||
         kind == FaultKind::blackhole || kind == FaultKind::slice || kind == FaultKind::partial_write;
}

// Fires on events (a connect, bytes, a call, a lookup) rather than once at a time.
bool is_event_fault(const Fault& fault) {
  if (fault.kind == FaultKind::eintr || fault.kind == FaultKind::resolve_fail ||
      fault.kind == FaultKind::refuse)
    return true;
  return is_connection_fault(fault.kind) && (fault.when.nth || fault.when.after_bytes || !fault.when.at);
}

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string host_list(const std::vector<std::string>& hosts) {
  return hosts.empty() ? "*" : fmt::format("{}", fmt::join(hosts, ", "));
}

std::string seconds(Nanos amount) {
  return fmt::format("{}{:.3f}s", amount < 0 ? "-" : "+", static_cast<double>(amount < 0 ? -amount : amount) / kSecond);
}

}  // namespace

void Faults::arm() {
  for (const Fault& fault : kernel_.scenario().faults) {
    connection_faults_ = connection_faults_ || is_connection_fault(fault.kind);
    if (is_event_fault(fault)) {
      armed_.push_back({&fault});
    } else {
      kernel_.scheduler().call_at(fault.when.at.value_or(0), [this, &fault] { fire(fault); });
    }
  }
}

bool Faults::takes(Armed& armed) {
  const Fault& fault = *armed.fault;
  if (fault.when.at && kernel_.clock().elapsed() < *fault.when.at) return false;
  ++armed.matches;
  if (fault.when.nth && armed.matches != *fault.when.nth) return false;
  // An event fault fires on every match unless counted; one tied to the Nth event, once.
  const std::uint64_t limit = fault.when.count.value_or(fault.when.nth ? 1 : std::numeric_limits<std::uint64_t>::max());
  if (armed.fired >= limit) return false;
  if (!kernel_.links().draw(fault.when.probability)) return false;
  ++armed.fired;
  return true;
}

bool Faults::matches_process(const std::string& program, int pid) const {
  if (program.empty()) return true;
  const Process* process = kernel_.find_process(pid);
  if (!process) return false;
  // "client" also names the copies started as client-2, client-3...
  const std::string& name = process->name();
  if (name == program) return true;
  if (name.size() <= program.size() + 1 || name.compare(0, program.size(), program) != 0 ||
      name[program.size()] != '-')
    return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(program.size()) + 1, name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool Faults::matches_connection(const Fault& fault, const Socket& client, const Host& there,
                                std::uint16_t port) const {
  const FaultMatch& match = fault.match;
  return (match.host.empty() || match.host == client.host->name) &&
         (match.peer.empty() || match.peer == there.name) && (!match.port || *match.port == port) &&
         matches_process(match.process, client.creator);
}

Event& Faults::announce(const Fault& fault, const std::string& text, const Task* actor, int fd,
                        const Socket* socket) {
  Event& event = record(kernel_, EventKind::fault, actor, fd, socket);
  event.data = fault.label.empty() ? text : fmt::format("{}: {}", fault.label, text);
  event.value = kernel_.scenario().annotate ? 1 : 0;
  return event;
}

void Faults::fire(const Fault& fault) {
  switch (fault.kind) {
    case FaultKind::partition:
    case FaultKind::heal:
    case FaultKind::hold:
    case FaultKind::release: fire_network(fault); break;
    case FaultKind::kill:
    case FaultKind::pause:
    case FaultKind::resume: fire_process(fault); break;
    case FaultKind::clock_jump:
      for (const auto& host : kernel_.hosts())
        if (fault.hosts.empty() || std::find(fault.hosts.begin(), fault.hosts.end(), host->name) != fault.hosts.end())
          host->clock_offset += fault.amount;
      announce(fault, fmt::format("clock_jump {} {}", host_list(fault.hosts), seconds(fault.amount)));
      break;
    default: fire_on_connections(fault); break;
  }
}

void Faults::fire_network(const Fault& fault) {
  // The directed paths the fault names: hosts to peers (peers empty: every other
  // host), and back unless one way.
  std::vector<std::pair<int, int>> paths;
  std::vector<const Host*> all;
  for (const auto& host : kernel_.hosts()) all.push_back(host.get());
  auto in = [](const std::vector<std::string>& names, const Host& host) {
    return std::find(names.begin(), names.end(), host.name) != names.end();
  };
  for (const Host* a : all) {
    for (const Host* b : all) {
      if (a == b) continue;
      const bool a_side = fault.hosts.empty() || in(fault.hosts, *a);
      const bool b_side = fault.peers.empty() ? !in(fault.hosts, *b) || fault.hosts.empty() : in(fault.peers, *b);
      const bool back = !fault.one_way && (fault.hosts.empty() || in(fault.hosts, *b)) &&
                        (fault.peers.empty() ? !in(fault.hosts, *a) || fault.hosts.empty() : in(fault.peers, *a));
      if ((a_side && b_side) || back) paths.emplace_back(a->id, b->id);
    }
  }
  Links& links = kernel_.links();
  const std::string between = fault.hosts.empty() && fault.peers.empty()
                                  ? std::string()
                                  : fmt::format(" {} {} {}", host_list(fault.hosts), fault.one_way ? "->" : "|",
                                                host_list(fault.peers));
  announce(fault, fmt::format("{}{}", fault_kind_name(fault.kind), between));
  for (const auto& [from, to] : paths) {
    switch (fault.kind) {
      case FaultKind::partition: links.cut_path(from, to); break;
      case FaultKind::heal: links.heal_path(from, to); break;
      case FaultKind::hold: links.hold_path(from, to); break;
      default:
        for (auto& deliver : links.release_path(from, to)) deliver();
        break;
    }
  }
  if (fault.duration && (fault.kind == FaultKind::partition || fault.kind == FaultKind::hold)) {
    kernel_.scheduler().call_at(kernel_.clock().elapsed() + *fault.duration, [this, &fault, paths] {
      Links& links = kernel_.links();
      const bool partition = fault.kind == FaultKind::partition;
      announce(fault, fmt::format("{} {} {} {}", partition ? "heal" : "release", host_list(fault.hosts),
                                  fault.one_way ? "->" : "|", host_list(fault.peers)));
      for (const auto& [from, to] : paths) {
        if (partition) {
          links.heal_path(from, to);
        } else {
          for (auto& deliver : links.release_path(from, to)) deliver();
        }
      }
    });
  }
}

void Faults::fire_process(const Fault& fault) {
  std::vector<Process*> targets;
  for (const auto& process : kernel_.processes())
    if (!process->exited() && matches_process(fault.process, process->pid())) targets.push_back(process.get());
  announce(fault, fmt::format("{} {}", fault_kind_name(fault.kind), fault.process));
  ProcessControl* control = kernel_.process_control();
  for (Process* process : targets) {
    switch (fault.kind) {
      case FaultKind::kill:
        kernel_.exit_process(*process, 128 + SIGKILL, SIGKILL);
        if (control) control->killed(*process);
        if (fault.restart_after && control) {
          kernel_.scheduler().call_at(kernel_.clock().elapsed() + *fault.restart_after, [this, &fault, process] {
            announce(fault, fmt::format("restart {}", fault.process));
            if (ProcessControl* control = kernel_.process_control()) control->restart(*process);
          });
        }
        break;
      case FaultKind::pause:
        kernel_.pause_process(*process);
        if (fault.duration) {
          kernel_.scheduler().call_at(kernel_.clock().elapsed() + *fault.duration, [this, &fault, process] {
            announce(fault, fmt::format("resume {}", fault.process));
            kernel_.resume_process(*process);
          });
        }
        break;
      default: kernel_.resume_process(*process); break;
    }
  }
}

Faults::Connection* Faults::find(const Socket& end) {
  for (Connection& connection : connections_)
    if (connection.conn == end.conn) return &connection;
  return nullptr;
}

bool Faults::refuse(Task& self, int fd, const Socket& client, const Host& there, std::uint16_t port) {
  for (Armed& armed : armed_) {
    const Fault& fault = *armed.fault;
    if (fault.kind != FaultKind::refuse || !matches_connection(fault, client, there, port) || !takes(armed))
      continue;
    announce(fault, fmt::format("refuse connect to {} port {}", there.name, port), &self, fd, &client);
    return true;
  }
  return false;
}

void Faults::established(Socket& client, Socket& server) {
  if (!connection_faults_) return;
  // Connections closed since are forgotten here, not on close: no cost on that path.
  std::erase_if(connections_, [](const Connection& c) { return c.client.expired() && c.server.expired(); });
  connections_.push_back({client.conn, client.weak_from_this(), server.weak_from_this()});
  Connection& connection = connections_.back();
  const std::uint16_t port = client.remote->port;
  for (Armed& armed : armed_) {
    const Fault& fault = *armed.fault;
    if (!is_connection_fault(fault.kind) || fault.kind == FaultKind::refuse) continue;
    if (!matches_connection(fault, client, *server.host, port)) continue;
    if (fault.when.after_bytes) {
      client.watched = server.watched = true;
      continue;
    }
    if (takes(armed)) act_on(fault, connection);
  }
}

std::size_t Faults::allowance(const Socket& sender) const {
  std::size_t most = std::numeric_limits<std::size_t>::max();
  for (const Connection& connection : connections_) {
    if (connection.conn != sender.conn) continue;
    const bool outbound = connection.client.lock().get() == &sender;
    const std::uint64_t crossed = connection.outbound + connection.inbound;
    for (const Armed& armed : armed_) {
      const Fault& fault = *armed.fault;
      if (!fault.when.after_bytes) continue;
      const FaultMatch::Direction d = fault.match.direction;
      if ((d == FaultMatch::Direction::outbound && !outbound) || (d == FaultMatch::Direction::inbound && outbound))
        continue;
      const std::uint64_t counted = d == FaultMatch::Direction::both ? crossed
                                    : outbound                       ? connection.outbound
                                                                     : connection.inbound;
      if (counted < *fault.when.after_bytes) most = std::min<std::size_t>(most, *fault.when.after_bytes - counted);
    }
  }
  return most;
}

void Faults::sent(Socket& sender, std::size_t n) {
  Connection* connection = find(sender);
  if (!connection) return;
  const bool outbound = connection->client.lock().get() == &sender;
  const std::uint64_t before_out = connection->outbound;
  const std::uint64_t before_in = connection->inbound;
  (outbound ? connection->outbound : connection->inbound) += n;
  const std::shared_ptr<Socket> client = connection->client.lock();
  const std::shared_ptr<Socket> server = connection->server.lock();
  if (!client || !server) return;
  for (Armed& armed : armed_) {
    const Fault& fault = *armed.fault;
    if (!fault.when.after_bytes || !matches_connection(fault, *client, *server->host, client->remote->port))
      continue;
    const FaultMatch::Direction d = fault.match.direction;
    const std::uint64_t before = d == FaultMatch::Direction::both       ? before_out + before_in
                                 : d == FaultMatch::Direction::outbound ? before_out
                                                                        : before_in;
    const std::uint64_t now = d == FaultMatch::Direction::both       ? connection->outbound + connection->inbound
                              : d == FaultMatch::Direction::outbound ? connection->outbound
                                                                     : connection->inbound;
    if (before < *fault.when.after_bytes && now >= *fault.when.after_bytes && takes(armed))
      act_on(fault, *connection);
  }
}

void Faults::fire_on_connections(const Fault& fault) {
  announce(fault, fmt::format("{} connections{}{}", fault_kind_name(fault.kind),
                              fault.match.peer.empty() ? "" : " to " + fault.match.peer,
                              fault.match.port ? fmt::format(" port {}", *fault.match.port) : ""));
  for (Connection& connection : connections_) {
    const std::shared_ptr<Socket> client = connection.client.lock();
    const std::shared_ptr<Socket> server = connection.server.lock();
    if (!client || !server || !client->remote) continue;
    if (matches_connection(fault, *client, *server->host, client->remote->port) &&
        kernel_.links().draw(fault.when.probability))
      act_on(fault, connection);
  }
}

void Faults::act_on(const Fault& fault, Connection& connection) {
  const std::shared_ptr<Socket> client = connection.client.lock();
  const std::shared_ptr<Socket> server = connection.server.lock();
  if (!client || !server) return;
  if (fault.when.after_bytes || fault.when.nth) {
    announce(fault, fmt::format("{} connection {}", fault_kind_name(fault.kind), connection.conn), nullptr, -1,
             client.get());
  }
  const FaultMatch::Direction d = fault.match.direction;
  const bool out = d != FaultMatch::Direction::inbound;
  const bool in = d != FaultMatch::Direction::outbound;
  switch (fault.kind) {
    case FaultKind::slice:
      if (out) server->max_recv = fault.size;
      if (in) client->max_recv = fault.size;
      break;
    case FaultKind::partial_write:
      if (out) client->max_send = fault.size;
      if (in) server->max_send = fault.size;
      break;
    default: stream_fault(kernel_, *client, fault.kind); break;
  }
}

bool Faults::eintr(Task& self, std::string_view op, int fd) {
  for (Armed& armed : armed_) {
    const Fault& fault = *armed.fault;
    if (fault.kind != FaultKind::eintr || (!fault.match.call.empty() && fault.match.call != op) ||
        !matches_process(fault.match.process, self.process().pid()) || !takes(armed))
      continue;
    announce(fault, fmt::format("eintr {} of {}", op, self.process().name()), &self, fd);
    return true;
  }
  return false;
}

int Faults::resolve_error(Task& self, std::string_view name) {
  for (Armed& armed : armed_) {
    const Fault& fault = *armed.fault;
    if (fault.kind != FaultKind::resolve_fail || (!fault.match.name.empty() && !same_name(fault.match.name, name)) ||
        !matches_process(fault.match.process, self.process().pid()) || !takes(armed))
      continue;
    const int error = fault.error ? fault.error : EAI_AGAIN;
    announce(fault, fmt::format("resolve_fail {}: {}", name, gai_strerror(error)), &self);
    return error;
  }
  return 0;
}

}  // namespace netsim
