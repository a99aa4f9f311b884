// Playing a conversation: the recorded order is the schedule. A reply is sent once
// the program has sent everything that came before it in the recording (in HTTP
// mode: as many requests), never on a timer, so what the program sees depends only
// on what it sends and on the simulated network between the two: the same bytes at
// the same virtual times on every run. What it sends is checked as it arrives; the
// first difference ends the conversation.
#include <fmt/format.h>
#include <sys/socket.h>

#include "cassette_internal.hpp"
#include "netsim/errors.hpp"

namespace netsim::cassette {
namespace {

constexpr std::size_t kChunk = 65536;

class Player {
 public:
  Player(Sys& sys, int conn, const Options& options, const std::string& label)
      : sys_(sys), conn_(conn), options_(options), label_(label) {}

  // Waits until the program has sent the recording's client bytes `expected` (all of
  // them; its requests, in HTTP mode). Returns the first difference, "" when none.
  std::string await(const std::string& expected) {
    for (;;) {
      if (std::string problem = compare(expected, false); !problem.empty()) return problem;
      if (complete(expected)) return "";
      if (!receive()) return compare(expected, true);
    }
  }

  // After the recording: the program may close, or leave the connection open, but
  // sends nothing more.
  std::string finish(const std::string& expected) {
    while (receive()) {
      if (std::string problem = compare(expected, true); !problem.empty()) return problem;
    }
    return "";
  }

  void send(const Chunk& chunk) {
    try {
      if (chunk.closed) {
        sys_.shutdown(conn_, SHUT_WR);
      } else {
        sys_.send(conn_, chunk.bytes);
      }
    } catch (const Error&) {  // the program closed first: it did not read the rest
    }
  }

 private:
  bool receive() {
    if (closed_) return false;
    std::string data;
    try {
      data = sys_.recv(conn_, kChunk);
    } catch (const Error&) {
    }
    if (data.empty()) closed_ = true;
    got_ += data;
    return !closed_;
  }

  bool complete(const std::string& expected) const {
    if (options_.match == Match::http) return requests(got_).size() >= requests(expected).size();
    return got_.size() >= expected.size();
  }

  // The first difference between what the program sent and `expected`; `whole`: the
  // program has sent all it will before the next reply, so missing bytes count too.
  std::string compare(const std::string& expected, bool whole) const {
    return options_.match == Match::http ? compare_requests(expected, whole) : compare_bytes(expected, whole);
  }

  std::string compare_bytes(const std::string& expected, bool whole) const {
    const std::size_t common = std::min(got_.size(), expected.size());
    std::size_t at = 0;
    while (at < common && got_[at] == expected[at]) ++at;
    if (at == common && got_.size() <= expected.size() && !(whole && got_.size() < expected.size()))
      return "";
    return report(fmt::format("at byte {} of what the program sent", at), excerpt(expected, at),
                  excerpt(got_, at));
  }

  std::string compare_requests(const std::string& expected, bool whole) const {
    const auto want = requests(expected);
    const auto have = requests(got_);
    for (std::size_t i = 0; i < std::min(want.size(), have.size()); ++i) {
      const auto a = request_lines(want[i], options_.ignored_headers);
      const auto b = request_lines(have[i], options_.ignored_headers);
      for (std::size_t line = 0; line < std::max(a.size(), b.size()); ++line) {
        const std::string_view x = line < a.size() ? std::string_view(a[line]) : "(nothing)";
        const std::string_view y = line < b.size() ? std::string_view(b[line]) : "(nothing)";
        if (x != y)
          return report(fmt::format("in request {}, line {}", i + 1, line + 1), excerpt(x, 0, 80),
                        excerpt(y, 0, 80));
      }
    }
    if (have.size() > want.size())
      return report(fmt::format("in request {}", want.size() + 1), "(no request)",
                    excerpt(request_lines(have[want.size()], {})[0], 0, 80));
    if (whole && have.size() < want.size())
      return report(fmt::format("in request {}", have.size() + 1),
                    excerpt(request_lines(want[have.size()], {})[0], 0, 80),
                    closed_ ? "(the connection closed)" : "(no request)");
    return "";
  }

  std::string report(const std::string& where, const std::string& expected, const std::string& got) const {
    return fmt::format("cassette: {} differs from the recording {}: expected {}, got {}", label_, where,
                       expected, got);
  }

  Sys& sys_;
  int conn_;
  const Options& options_;
  const std::string& label_;
  std::string got_;
  bool closed_ = false;
};

}  // namespace

std::string play(Sys& sys, int conn, const Conversation& recorded, const Options& options,
                 const std::string& label) {
  Player player(sys, conn, options, label);
  std::string expected;
  for (const Chunk& chunk : recorded.chunks) {
    if (chunk.from_client) {
      expected += chunk.bytes;
      continue;
    }
    if (std::string problem = player.await(expected); !problem.empty()) return problem;
    player.send(chunk);
  }
  if (std::string problem = player.await(expected); !problem.empty()) return problem;
  return player.finish(expected);
}

}  // namespace netsim::cassette
