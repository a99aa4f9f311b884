#include "netsim/trace.hpp"

#include <fmt/format.h>

#include "netsim/errors.hpp"

namespace netsim {

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::spawn: return "spawn";
    case EventKind::exit: return "exit";
    case EventKind::kill: return "kill";
    case EventKind::bind: return "bind";
    case EventKind::listen: return "listen";
    case EventKind::connect: return "connect";
    case EventKind::accept: return "accept";
    case EventKind::send: return "send";
    case EventKind::recv: return "recv";
    case EventKind::drop: return "drop";
    case EventKind::shutdown: return "shutdown";
    case EventKind::close: return "close";
    case EventKind::reset: return "reset";
    case EventKind::error: return "error";
    case EventKind::output: return "output";
    case EventKind::deadlock: return "deadlock";
    case EventKind::fault: return "fault";
    case EventKind::retransmit: return "retransmit";
    case EventKind::schedule: return "schedule";
  }
  return "?";
}

Event& Trace::record(EventKind kind, Nanos time) {
  Event& event = events_.emplace_back();
  event.time = time;
  event.kind = kind;
  return event;
}

namespace {

// Each byte becomes the code point of the same value, so any payload, UTF-8 or not,
// round-trips exactly (decode the JSON string, then encode it as Latin-1).
void append_json_string(std::string& out, std::string_view bytes) {
  out += '"';
  for (const unsigned char c : bytes) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

std::string Trace::to_json(const Event& e, std::uint64_t seq) {
  std::string out = fmt::format(R"({{"seq":{},"t":{},"event":"{}")", seq, e.time,
                                event_kind_name(e.kind));
  if (e.pid) out += fmt::format(R"(,"pid":{})", e.pid);
  if (e.task) out += fmt::format(R"(,"task":{})", e.task);
  if (e.fd >= 0) out += fmt::format(R"(,"fd":{})", e.fd);
  if (e.conn) out += fmt::format(R"(,"conn":{})", e.conn);
  if (e.datagram) out += R"(,"proto":"udp")";
  if (e.passed) out += fmt::format(R"(,"passed":{})", e.passed);
  if (e.local) out += fmt::format(R"(,"local":"{}")", e.local->str());
  if (e.remote) out += fmt::format(R"(,"remote":"{}")", e.remote->str());
  if (e.value) out += fmt::format(R"(,"value":{})", e.value);
  if (e.err) out += fmt::format(R"(,"errno":"{}")", errno_name(e.err));
  if (!e.data.empty()) {
    const bool text = e.kind == EventKind::spawn || e.kind == EventKind::error ||
                      e.kind == EventKind::deadlock || e.kind == EventKind::fault;
    out += text ? R"(,"text":)" : R"(,"data":)";
    append_json_string(out, e.data);
  }
  out += '}';
  return out;
}

std::string Trace::to_jsonl() const {
  std::string out;
  std::uint64_t seq = 0;
  for (const Event& event : events_) {
    out += to_json(event, ++seq);
    out += '\n';
  }
  return out;
}

}  // namespace netsim
