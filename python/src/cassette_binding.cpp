// The core's cassette options from netsim._cassette's data, and the run's outcome back
// (core/include/netsim/cassette.hpp). The file format stays in Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "python_restarts.hpp"

namespace netsim::python {

namespace py = pybind11;

namespace {

cassette::Conversation conversation(const py::handle& data) {
  cassette::Conversation out;
  out.service = data["service"].cast<std::string>();
  for (const py::handle chunk : data["chunks"]) {
    const auto [from_client, bytes, closed, time] = chunk.cast<std::tuple<bool, std::string, bool, Nanos>>();
    out.chunks.push_back({from_client, bytes, closed, time});
  }
  return out;
}

}  // namespace

cassette::Options to_cassette(const py::handle& data) {
  cassette::Options out;
  try {
    for (const py::handle item : data["services"]) {
      cassette::Service service;
      service.name = item["name"].cast<std::string>();
      service.host = item["host"].cast<std::string>();
      service.port = item["port"].cast<std::uint16_t>();
      service.simulated = item["simulated"].cast<bool>();
      if (!item["real"].is_none())
        service.real = Address{parse_ip(item["real"].cast<std::string>()), item["real_port"].cast<std::uint16_t>()};
      out.services.push_back(std::move(service));
    }
    for (const py::handle item : data["recorded"]) out.recorded.push_back(conversation(item));
    const auto match = data["match"].cast<std::string>();
    if (match != "bytes" && match != "http") throw py::value_error("cassette data: no match mode '" + match + "'");
    out.match = match == "http" ? cassette::Match::http : cassette::Match::bytes;
    out.ignored_headers = data["ignored_headers"].cast<std::vector<std::string>>();
  } catch (const py::cast_error& e) {
    throw py::value_error(std::string("cassette data: a value of the wrong type (") + e.what() + ")");
  }
  return out;
}

py::dict from_outcome(const cassette::Outcome& outcome) {
  py::list conversations;
  for (const cassette::Conversation& conversation : outcome.conversations) {
    py::list chunks;
    for (const cassette::Chunk& chunk : conversation.chunks)
      chunks.append(py::make_tuple(chunk.from_client, py::bytes(chunk.bytes), chunk.closed, chunk.time));
    py::dict item;
    item["service"] = conversation.service;
    item["chunks"] = chunks;
    conversations.append(item);
  }
  py::dict out;
  out["conversations"] = conversations;
  out["problem"] = outcome.problem;
  out["lookups"] = outcome.lookups;
  return out;
}

void bind_cassette(py::module_& m) {
  py::class_<cassette::Deck>(m, "CassetteDeck")
      .def(py::init([](PySimulation& sim, const py::handle& data) {
             try {
               return std::make_unique<cassette::Deck>(sim, to_cassette(data));
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::keep_alive<1, 2>(), py::arg("simulation"), py::arg("data"),
           "The cassette's services in an in-process simulation, before its first spawn.")
      .def("outcome", [](cassette::Deck& deck) { return from_outcome(deck.outcome()); },
           "The run's connections and first difference, as run_commands' cassette.");
}

}  // namespace netsim::python
