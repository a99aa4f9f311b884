// The demo: a poll()-based echo server and two clients on the virtual network.
//
//   echo_demo --seed 42                 the same transcript on every run
//   echo_demo --seed 42 --policy random another interleaving per seed
//   echo_demo --trace trace.jsonl       the core's events as JSON lines
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "netsim/simulation.hpp"

namespace {

using netsim::Address;
using netsim::Ip;
using netsim::Sys;

const Address kServer{Ip::v4(127, 0, 0, 1), 10000};

// Serves every client at once from one task, the way a select() tutorial does.
void serve(Sys& sys) {
  const int listener = sys.socket(AF_INET, SOCK_STREAM);
  sys.bind(listener, kServer);
  sys.listen(listener, 5);
  sys.print("listening on " + sys.getsockname(listener).str());
  std::vector<pollfd> fds{{listener, POLLIN, 0}};
  for (;;) {
    sys.poll(fds, std::nullopt);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == listener) {
        Address peer;
        const int conn = sys.accept(listener, &peer);
        sys.print("connection from " + peer.str());
        fds.push_back({conn, POLLIN, 0});
        continue;
      }
      const int conn = fds[i].fd;
      const std::string peer = sys.getpeername(conn).str();
      const std::string data = sys.recv(conn, 1024);
      if (data.empty()) {
        sys.print(peer + " closed the connection");
        sys.close(conn);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i--));
        continue;
      }
      sys.print(fmt::format("echoing {:?} to {}", data, peer));
      sys.send(conn, data);
    }
  }
}

netsim::TaskFn client(std::vector<std::string> messages) {
  return [messages](Sys& sys) {
    const int fd = sys.socket(AF_INET, SOCK_STREAM);
    sys.connect(fd, kServer);
    sys.print("connected from " + sys.getsockname(fd).str());
    for (const std::string& message : messages) {
      sys.send(fd, message);
      const std::string reply = sys.recv(fd, 1024);
      sys.print(fmt::format("[{:.3f}s] sent {:?}, got {:?}",
                            static_cast<double>(sys.monotonic()) / netsim::kSecond, message, reply));
      sys.sleep(100 * netsim::kMillisecond);
    }
    sys.close(fd);
  };
}

int usage_error(const std::string& message) {
  std::cerr << "echo_demo: " << message << "\n"
            << "usage: echo_demo [--seed N] [--policy run-until-block|random] [--trace FILE]\n"
            << "try 'echo_demo --help' for more\n";
  return 2;
}

constexpr std::string_view kHelp = R"(usage: echo_demo [--seed N] [--policy run-until-block|random] [--trace FILE]

Runs an echo server and two clients on netsim's virtual network and prints the
transcript: every line each process printed, prefixed with its name, in simulated
order. The same seed gives the same bytes on every run and every machine.

options:
  --seed N          seed of the simulation (default 0); it picks ephemeral ports and,
                    with --policy random, the interleaving
  --policy P        run-until-block (default): a task runs until it blocks
                    random: a seeded choice of task at every scheduling point
  --trace FILE      also write the event trace as JSON lines to FILE
  -h, --help        show this help

examples:
  echo_demo --seed 42
  echo_demo --seed 7 --policy random --trace events.jsonl
)";

}  // namespace

int main(int argc, char** argv) {
  netsim::Config config;
  std::string trace_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kHelp;
      return 0;
    }
    if (arg != "--seed" && arg != "--policy" && arg != "--trace")
      return usage_error(fmt::format("unknown option '{}'", arg));
    if (i + 1 == argc) return usage_error(fmt::format("{} needs a value", arg));
    const std::string_view value = argv[++i];
    if (arg == "--seed") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), config.seed);
      if (ec != std::errc() || end != value.data() + value.size())
        return usage_error(fmt::format("--seed takes a whole number from 0 to 2^64-1, not '{}'", value));
    } else if (arg == "--policy") {
      if (value == "run-until-block") {
        config.policy = netsim::Policy::run_until_block;
      } else if (value == "random") {
        config.policy = netsim::Policy::random;
      } else {
        return usage_error(fmt::format("--policy is run-until-block or random, not '{}'", value));
      }
    } else {
      trace_path = value;
    }
  }

  netsim::Simulation sim(config);
  sim.spawn("server", serve);
  sim.spawn("client", client({"hello", "world"}));
  sim.spawn("client", client({"ping", "pong", "bye"}));
  int status = 0;
  try {
    status = sim.run().exit_status;
  } catch (const netsim::DeadlockError& e) {
    std::cerr << e.what();
    status = 1;
  }
  std::cout << sim.transcript();
  if (!trace_path.empty()) {
    std::ofstream out(trace_path, std::ios::binary);
    out << sim.trace().to_jsonl();
    if (!out) {
      std::cerr << "echo_demo: cannot write the trace to " << trace_path << "\n";
      return 1;
    }
  }
  return status;
}
