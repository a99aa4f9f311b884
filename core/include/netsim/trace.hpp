#pragma once
// The event trace: everything that happens on the virtual network and to tasks,
// in order. Every output (transcript, JSON lines, later cassettes, pcap, diagrams) is
// derived from it, so anything observable must be recorded here first.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/clock.hpp"

namespace netsim {

enum class EventKind : std::uint8_t {
  spawn,     // a process was created (text: its name)
  exit,      // a process ended (value: exit status)
  kill,      // the simulation stopped a process that was still running
  bind,      // a socket got its local address
  listen,    // value: backlog
  connect,   // a stream connection was established (conn, local, remote)
  accept,    // a listening socket handed out a connection
  send,      // bytes entered the peer's receive buffer (value: count, data: bytes)
  recv,      // a task read bytes (value: count, data: bytes)
  drop,      // a datagram was discarded: no receiver or its buffer was full
  shutdown,  // value: SHUT_RD, SHUT_WR or SHUT_RDWR
  close,     // a socket was closed by its last descriptor
  reset,     // a connection was reset (RST): the socket named is the one reset
  error,     // a call failed (err: errno, text: the call)
  output,    // a process wrote to stdout (value 1) or stderr (value 2)
  deadlock,  // the run stopped because every task was blocked (text: the report)
  // A fault fired, or a link lost a packet (text: "partition web | client", "loss
  // UDP 10.0.0.2:5000 -> 10.0.0.1:40000"; value 1: the transcript shows it as a
  // "netsim: <text> at 2.000s" line, Scenario::annotate).
  fault,
  // A stream segment was lost and will be sent again (value: bytes, conn: which).
  retransmit,
  // The scheduler ran `task` where run-until-block would have run `passed` (value:
  // the scheduling point, see Deviation).
  schedule,
};

const char* event_kind_name(EventKind kind);

struct Event {
  Nanos time = 0;  // virtual time since the simulation started
  EventKind kind = EventKind::spawn;
  int pid = 0;
  int task = 0;
  int fd = -1;
  std::uint64_t conn = 0;  // stream connection id, 0 when none
  bool datagram = false;
  int passed = 0;  // schedule: the task run-until-block would have run
  std::optional<Address> local;
  std::optional<Address> remote;
  std::int64_t value = 0;
  int err = 0;
  // The bytes of send, recv and output events; the text of spawn (the process's
  // name), error (the call that failed), deadlock (the report) and fault events. One field
  // for both keeps events small: a long run records millions.
  std::string data;
};

class Trace {
 public:
  // Without payloads, send/recv/output events keep their sizes but not their bytes
  // (output bytes are always kept: the transcript is made from them).
  explicit Trace(bool keep_payload = true) : keep_payload_(keep_payload) {}

  Event& record(EventKind kind, Nanos time);
  bool keep_payload() const { return keep_payload_; }
  const std::deque<Event>& events() const { return events_; }

  // One JSON object per event and line, "seq" counting from 1. Byte strings map each
  // byte to the code point of the same value, so the payload survives any bytes
  // exactly; a spawn, error or deadlock event's data is written as "text".
  std::string to_jsonl() const;
  static std::string to_json(const Event& event, std::uint64_t seq);

 private:
  bool keep_payload_;
  // A deque: appending never moves the events already recorded (a long run records
  // millions), and references to them stay valid.
  std::deque<Event> events_;
};

}  // namespace netsim
