// The transcript's short forms of paths (short_paths.hpp) and the simulated machine
// (system.hpp).
#include <net/if.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "netsim/short_paths.hpp"
#include "netsim/simulation.hpp"
#include "netsim/system.hpp"

using namespace netsim;

namespace {

const std::vector<PathForm> kForms = {
    {"/home/ann/tut", ""},
    {"/opt/py/lib/python3.11", "<stdlib>"},
    {"/opt/py/lib/python3.11/site-packages", "<site-packages>"},
    {"/opt/py", "<python>"},
    {"/home/ann", "~"},
};

}  // namespace

TEST_CASE("paths under a form's directory are shown in its short form: the longest directory first") {
  CHECK(shorten_paths(R"(  File "/home/ann/tut/server.py", line 3)", kForms) == R"(  File "server.py", line 3)");
  CHECK(shorten_paths("/opt/py/lib/python3.11/ssl.py", kForms) == "<stdlib>/ssl.py");
  CHECK(shorten_paths("/opt/py/lib/python3.11/site-packages/requests/api.py", kForms) ==
        "<site-packages>/requests/api.py");
  CHECK(shorten_paths("/opt/py/bin/python3 and /home/ann/notes", kForms) == "<python>/bin/python3 and ~/notes");
  CHECK(shorten_paths("serving /home/ann/tut, then /home/ann/tut/site", kForms) == "serving ., then site");
}

TEST_CASE("a directory counts only as whole path components") {
  CHECK(shorten_paths("/home/ann/tutorial/x.py", kForms) == "~/tutorial/x.py");
  CHECK(shorten_paths("/x/home/ann/tut/a.py", kForms) == "/x/home/ann/tut/a.py");
  CHECK(shorten_paths("relative/home/ann/tut", kForms) == "relative/home/ann/tut");
  CHECK(shorten_paths("no paths here", kForms) == "no paths here");
  // "/" or a relative directory would rewrite every path: ignored.
  CHECK(shorten_paths("/etc/hosts", {{"/", "<root>"}, {"etc", "x"}}) == "/etc/hosts");
}

TEST_CASE("the transcript uses the configuration's forms and the trace keeps the bytes as written") {
  Config config;
  config.short_paths = kForms;
  Simulation sim(config);
  sim.spawn("p", [](Sys& sys) { sys.print("at /home/ann/tut/a.py"); });
  sim.run();
  CHECK(sim.transcript() == "p: at a.py\n");
  CHECK(sim.trace().to_jsonl().find("/home/ann/tut/a.py") != std::string::npos);
}

TEST_CASE("the simulated machine: uname's fields and 4 CPUs and loopback and eth0 with the host's address") {
  Simulation sim(Config{});
  const SystemFacts facts = system_facts(sim.kernel().default_host());
  CHECK(facts.sysname == "Linux");
  CHECK(facts.nodename == "localhost");
  CHECK(facts.release == "6.1.0-netsim");
  CHECK(facts.machine == "x86_64");
  CHECK(facts.cpus == 4);
  REQUIRE(facts.interfaces.size() == 2);
  CHECK(facts.interfaces[0].name == "lo");
  CHECK(facts.interfaces[0].ipv4 == Ip::loopback(Family::inet));
  CHECK(facts.interfaces[0].flags == (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
  CHECK(facts.interfaces[1].name == "eth0");
  CHECK(facts.interfaces[1].ipv4 == Ip::parse(kDefaultHostIpv4));
  Host& db = sim.kernel().add_host("db", {*Ip::parse("10.0.0.2")});
  CHECK(system_facts(db).nodename == "db");
  CHECK(system_facts(db).interfaces[1].ipv4 == Ip::parse("10.0.0.2"));
  CHECK(python_hash_seed(42) == 43);
  CHECK(python_hash_seed(4'294'967'295ULL) == 1);
}
