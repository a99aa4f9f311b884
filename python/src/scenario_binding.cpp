// The core's Scenario (scenario.hpp) from the checked data of netsim.scenario: one
// conversion, used by simrun's run_commands and by Simulation(scenario=...). The
// data is already checked (units converted, names known); what is checked here is
// only its shape, so a caller that skips netsim.scenario gets a ValueError, not a
// crash.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"

namespace netsim::python {

namespace py = pybind11;

namespace {

py::object field(const py::handle& data, const char* key) {
  const py::dict dict = py::reinterpret_borrow<py::dict>(data);
  if (!dict.contains(key)) throw py::value_error(std::string("scenario data: missing '") + key + "'");
  return dict[key];
}

template <typename T>
T value(const py::handle& data, const char* key, T otherwise) {
  const py::dict dict = py::reinterpret_borrow<py::dict>(data);
  if (!dict.contains(key) || dict[key].is_none()) return otherwise;
  return dict[key].cast<T>();
}

template <typename T>
std::optional<T> optional(const py::handle& data, const char* key) {
  const py::dict dict = py::reinterpret_borrow<py::dict>(data);
  if (!dict.contains(key) || dict[key].is_none()) return std::nullopt;
  return dict[key].cast<T>();
}

LinkConditions conditions(const py::handle& data) {
  LinkConditions out;
  out.delay = value<Nanos>(data, "delay", 0);
  out.jitter = value<Nanos>(data, "jitter", 0);
  out.rate = value<std::uint64_t>(data, "rate", 0);
  out.loss = value<double>(data, "loss", 0);
  out.duplicate = value<double>(data, "duplicate", 0);
  out.reorder = value<double>(data, "reorder", 0);
  return out;
}

FaultKind kind_of(const std::string& name) {
  static const std::pair<const char*, FaultKind> kKinds[] = {
      {"partition", FaultKind::partition}, {"heal", FaultKind::heal},
      {"hold", FaultKind::hold},           {"release", FaultKind::release},
      {"kill", FaultKind::kill},           {"pause", FaultKind::pause},
      {"resume", FaultKind::resume},       {"clock_jump", FaultKind::clock_jump},
      {"refuse", FaultKind::refuse},       {"reset", FaultKind::reset},
      {"close", FaultKind::close},         {"blackhole", FaultKind::blackhole},
      {"slice", FaultKind::slice},         {"partial_write", FaultKind::partial_write},
      {"eintr", FaultKind::eintr},         {"resolve_fail", FaultKind::resolve_fail},
  };
  for (const auto& [text, kind] : kKinds)
    if (name == text) return kind;
  throw py::value_error("scenario data: no fault kind '" + name + "'");
}

FaultMatch::Direction direction_of(const std::string& name) {
  if (name == "both") return FaultMatch::Direction::both;
  if (name == "outbound") return FaultMatch::Direction::outbound;
  if (name == "inbound") return FaultMatch::Direction::inbound;
  throw py::value_error("scenario data: no direction '" + name + "'");
}

Fault fault(const py::handle& data) {
  Fault out;
  out.kind = kind_of(field(data, "kind").cast<std::string>());
  const py::object when = field(data, "when");
  out.when.at = optional<Nanos>(when, "at");
  out.when.nth = optional<std::uint64_t>(when, "nth");
  out.when.after_bytes = optional<std::uint64_t>(when, "after_bytes");
  out.when.probability = value<double>(when, "probability", 1);
  out.when.count = optional<std::uint64_t>(when, "count");
  out.hosts = value<std::vector<std::string>>(data, "hosts", {});
  out.peers = value<std::vector<std::string>>(data, "peers", {});
  out.one_way = value<bool>(data, "one_way", false);
  out.process = value<std::string>(data, "process", "");
  out.duration = optional<Nanos>(data, "duration");
  out.restart_after = optional<Nanos>(data, "restart_after");
  const py::object match = field(data, "match");
  out.match.host = value<std::string>(match, "host", "");
  out.match.peer = value<std::string>(match, "peer", "");
  out.match.process = value<std::string>(match, "process", "");
  out.match.port = optional<std::uint16_t>(match, "port");
  out.match.direction = direction_of(value<std::string>(match, "direction", "both"));
  out.match.call = value<std::string>(match, "call", "");
  out.match.name = value<std::string>(match, "name", "");
  out.size = value<std::size_t>(data, "size", 0);
  out.error = value<int>(data, "error", 0);
  out.amount = value<Nanos>(data, "amount", 0);
  out.label = value<std::string>(data, "label", "");
  return out;
}

}  // namespace

Scenario to_scenario(const py::handle& data) {
  if (!py::isinstance<py::dict>(data)) throw py::type_error("scenario data is a dict (netsim.scenario)");
  Scenario out;
  try {
    out.annotate = value<bool>(data, "annotate", true);
    out.defaults = conditions(field(data, "defaults"));
    const py::object tcp = field(data, "tcp");
    out.tcp.rto_initial = value<Nanos>(tcp, "rto_initial", out.tcp.rto_initial);
    out.tcp.rto_min = value<Nanos>(tcp, "rto_min", out.tcp.rto_min);
    out.tcp.rto_max = value<Nanos>(tcp, "rto_max", out.tcp.rto_max);
    out.tcp.syn_retries = value<int>(tcp, "syn_retries", out.tcp.syn_retries);
    out.tcp.retries = value<int>(tcp, "retries", out.tcp.retries);
    for (const py::handle host : field(data, "hosts")) {
      HostSpec spec;
      spec.name = field(host, "name").cast<std::string>();
      for (const auto& text : value<std::vector<std::string>>(host, "addresses", {}))
        spec.addresses.push_back(parse_ip(text));
      spec.processes = value<std::vector<std::string>>(host, "processes", {});
      spec.clock_offset = value<Nanos>(host, "clock_offset", 0);
      spec.clock_drift = value<double>(host, "clock_drift", 0);
      out.hosts.push_back(std::move(spec));
    }
    for (const py::handle link : field(data, "links"))
      out.links.push_back({field(link, "a").cast<std::string>(), field(link, "b").cast<std::string>(),
                           value<bool>(link, "one_way", false), conditions(field(link, "conditions"))});
    for (const py::handle item : field(data, "faults")) out.faults.push_back(fault(item));
  } catch (const py::cast_error& e) {
    throw py::value_error(std::string("scenario data: a value of the wrong type (") + e.what() + ")");
  }
  return out;
}

}  // namespace netsim::python
