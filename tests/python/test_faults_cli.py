"""simrun's network options (--scenario, --host, --latency, --jitter, --rate, --loss,
--no-annotate), netsim.run_commands(scenario=...), Simulation(scenario=...) and the
fixture's marker: what they accept, what they refuse (one line, exit status 2), and
runs compared byte for byte. Expected timings are those of Linux with netem on the
path: a TCP connect takes one round trip, an echo another."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import netsim
from netsim import simrun

REPO = Path(__file__).resolve().parents[2]
SLICED = ["examples/faults/sliced_server.py", "examples/faults/sliced_client.py"]

# A TCP echo server and a client that times its connect and one echo.
SERVER = """\
import socket
with socket.create_server(("0.0.0.0", 7000)) as listener:
    print("on", socket.gethostname())
    conn, peer = listener.accept()
    print("from", peer[0])
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    except KeyboardInterrupt:  # stopped at the end of the run, the client's EOF on its way
        pass
"""
CLIENT = """\
import socket, sys, time
start = time.monotonic()
sock = socket.create_connection((sys.argv[1], 7000))
connected = time.monotonic()
sock.sendall(b"x" * int(sys.argv[2]))
got = b""
while len(got) < int(sys.argv[2]):
    got += sock.recv(65536)
print(f"on {socket.gethostname()}: connect {connected - start:.3f} echo {time.monotonic() - connected:.3f}")
"""
# Twenty numbered UDP datagrams to a server that prints what arrives.
UDP_SERVER = """\
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 7001))
try:
    while True:
        print("got", s.recv(100).decode())
except KeyboardInterrupt:
    pass
"""
UDP_CLIENT = """\
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(20):
    s.sendto(str(n).encode(), ("127.0.0.1", 7001))
time.sleep(1)
"""


@pytest.fixture
def scripts(tmp_path):
    for name, text in (("server", SERVER), ("client", CLIENT), ("udp_server", UDP_SERVER),
                       ("udp_client", UDP_CLIENT)):
        (tmp_path / f"{name}.py").write_text(text)
    return tmp_path


def run(*argv: str, cwd: Path = REPO) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "netsim.simrun", *argv], cwd=cwd,
                          capture_output=True, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def usage_error(capsys, *argv: str) -> str:
    assert simrun.main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("simrun: ") and err.count("\n") == 1, err
    return err[len("simrun: "):].rstrip("\n")


@pytest.fixture
def at_repo(monkeypatch):
    monkeypatch.chdir(REPO)


# --- --help -----------------------------------------------------------------------------


def test_help_teaches_the_network_options_with_examples(capsys):
    with pytest.raises(SystemExit):
        simrun.main(["--help"])
    text = capsys.readouterr().out
    for example in ("simrun --latency 50ms --loss 5% server.py client.py",
                    "simrun --host web=server --host laptop=client --rate 1Mbit/s server.py client.py",
                    "simrun --scenario faults.toml server.py client.py"):
        assert f"\n  {example}\n" in text
    for option in ("--scenario FILE", "--host NAME=PROGRAM", "--latency DURATION", "--jitter DURATION",
                   "--rate RATE", "--loss PERCENT", "--no-annotate", "docs/faults.md"):
        assert option in text


# --- refused: one line, exit status 2 -----------------------------------------------------


def test_a_bad_scenario_names_file_line_and_key(capsys, at_repo, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[network]\ndelay = "20ms"\n\n[[fault]]\nkind = "slice"\nsize = 3\nafter = "1KiB"\n')
    assert usage_error(capsys, "--scenario", str(path), *SLICED) == (
        f"{path}:7: [[fault]] 1, key 'after': unknown key; the keys here are kind, label, host, peer, "
        "process, port, direction, at, nth, probability, count, size")


@pytest.mark.parametrize("argv, message", [
    (["--scenario", "nope.toml"], "cannot read the scenario nope.toml: No such file or directory"),
    (["--host", "web"], "--host takes NAME=PROGRAM (e.g. --host web=server), not 'web'"),
    (["--host", "web=nobody"], "--host web=nobody: no program is named 'nobody' "
                               "(the programs are sliced_server, sliced_client)"),
    (["--latency", "50"], "--latency 50: bad duration '50': write a number and a unit"),
    (["--jitter=-1ms"], "--jitter -1ms: bad duration '-1ms': it cannot be negative"),
    (["--rate", "1Mbps"], "--rate 1Mbps: bad rate '1Mbps'"),
    (["--loss", "0.05"], "--loss 0.05: bad percentage '0.05'"),
    (["--loss", "150%"], "--loss 150%: bad percentage '150%': from 0% to 100%"),
])
def test_bad_options_are_one_line(capsys, at_repo, argv, message):
    assert usage_error(capsys, *argv, *SLICED).startswith(message)


def test_a_scenario_naming_a_program_the_run_lacks(capsys, at_repo, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[fault]]\nkind = "kill"\nat = "1s"\nprocess = "sliced_srv"\n')
    assert usage_error(capsys, "--scenario", str(path), *SLICED) == (
        f"{path}:4: [[fault]] 1, key 'process': no program is named 'sliced_srv' "
        "(the programs are sliced_server, sliced_client)")


def test_refused_by_the_real_command_without_a_traceback(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[network]\nloss = 5\n")
    status, out, err = run("--scenario", str(path), *SLICED)
    assert (status, out) == (2, "")
    assert err == f"simrun: {path}:2: [network], key 'loss': a percentage is a string with a unit, as 5% or 0.5%, not 5\n"


# --- runs -----------------------------------------------------------------------------------

def test_latency_delays_every_link_loopback_included(scripts):
    plain = run("server.py", "client.py localhost 10", cwd=scripts)
    slow = run("--latency", "50ms", "server.py", "client.py localhost 10", cwd=scripts)
    assert plain == (0, "server: on localhost\nserver: from 127.0.0.1\n"
                        "client: on localhost: connect 0.000 echo 0.000\n", "")
    # One round trip for the handshake (SYN, SYN-ACK), one for the echo.
    # The client's FIN is still crossing the link when it exits: the end of the run
    # delivers it, and the server ends as in the plain run, not stopped.
    assert slow == (0, "server: on localhost\nserver: from 127.0.0.1\n"
                       "client: on localhost: connect 0.100 echo 0.100\n", "")


def test_rate_makes_a_large_transfer_take_its_time(scripts):
    status, out, err = run("--rate", "8Mbit/s", "server.py", "client.py localhost 50000", cwd=scripts)
    assert (status, err) == (0, "")
    # 50000 bytes at 1 MB/s: 0.05 s out, then the last piece back.
    echo = float(out.split("echo ")[1])
    assert 0.05 < echo < 0.2, out


def test_hosts_place_programs_and_resolve_by_name(scripts):
    status, out, err = run("--host", "web=server", "--host", "laptop=client", "--latency", "10ms",
                           "server.py", "client.py web 10", cwd=scripts)
    assert (status, err) == (0, "")
    assert out == ("server: on web\nserver: from 10.0.0.3\n"
                   "client: on laptop: connect 0.020 echo 0.020\n")


def test_loss_drops_datagrams_by_the_seed(scripts):
    def arrived(seed: int) -> list[str]:
        status, out, err = run("--seed", str(seed), "--loss", "50%", "udp_server.py", "udp_client.py",
                               cwd=scripts)
        assert (status, err) == (0, "")
        return out.splitlines()

    first = arrived(1)
    assert 0 < len(first) < 20, first
    assert arrived(1) == first
    assert arrived(2) != first


def test_jitter_varies_delays_by_the_seed(scripts):
    def timing(seed: int) -> str:
        status, out, err = run("--seed", str(seed), "--latency", "50ms", "--jitter", "20ms",
                               "server.py", "client.py localhost 10", cwd=scripts)
        assert (status, err) == (0, "")
        return out.splitlines()[-1]  # the client's

    times = {seed: timing(seed) for seed in (1, 2, 3)}
    assert timing(1) == times[1]
    assert len(set(times.values())) > 1, times
    for line in times.values():
        connect = float(line.split("connect ")[1].split()[0])
        assert 0.06 <= connect <= 0.14, line


def test_no_annotate_leaves_out_only_the_fault_lines(at_repo):
    scenario = "examples/faults/restart.toml"
    restart = ["examples/faults/restart_server.py", "examples/faults/restart_client.py"]
    status, annotated, err = run("--seed", "1", "--scenario", scenario, *restart)
    assert (status, err) == (0, "")
    status, quiet, err = run("--seed", "1", "--scenario", scenario, "--no-annotate", *restart)
    assert (status, err) == (0, "")
    notes = [line for line in annotated.splitlines() if line.startswith("netsim: ")]
    assert notes == ["netsim: kill restart_server at 1.200s", "netsim: restart restart_server at 2.200s"]
    assert quiet.splitlines() == [line for line in annotated.splitlines() if line not in notes]


def test_run_commands_takes_the_scenario_as_a_dict_or_a_file(at_repo):
    from_file = netsim.run_commands(SLICED, seed=1, scenario="examples/faults/sliced.toml")
    from_dict = netsim.run_commands(SLICED, seed=1, scenario={"fault": [{"kind": "slice", "port": 9000, "size": 4}]})
    assert from_file.transcript == from_dict.transcript
    assert "one recv: b'the quick" not in from_file.transcript
    with pytest.raises(ValueError, match=r"^scenario: 'fault\[0\]\.size': it must be at least 1 byte$"):
        netsim.run_commands(SLICED, scenario={"fault": [{"kind": "slice", "size": 0}]})


# --- in-process -------------------------------------------------------------------------------


def ask(host: str) -> None:
    import time

    start = time.monotonic()
    with socket.create_connection((host, 7000)) as sock:
        sock.sendall(b"ping")
        print(f"{socket.gethostname()} got {sock.recv(100)!r} after {time.monotonic() - start:.3f}")


def serve() -> None:
    with socket.create_server(("0.0.0.0", 7000)) as listener:
        conn, peer = listener.accept()
        print(socket.gethostname(), "from", peer[0])
        conn.sendall(conn.recv(100))


def test_simulation_places_spawned_tasks_by_the_scenario():
    def make():
        sim = netsim.Simulation(seed=3, scenario={
            "network": {"delay": "25ms"},
            "host": [{"name": "web", "programs": ["server"]}, {"name": "laptop"}]})
        sim.spawn("server", serve)
        sim.spawn("client", ask, args=("web",), host="laptop")
        return sim

    transcripts = {make().run().transcript for _ in range(5)}
    assert transcripts == {"server: web from 10.0.0.3\nclient: laptop got b'ping' after 0.100\n"}


def test_simulation_refuses_a_bad_scenario_with_the_same_text(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[network]\ndelay = 5\n")
    with pytest.raises(ValueError) as caught:
        netsim.Simulation(scenario=path)
    assert str(caught.value) == f"{path}:2: [network], key 'delay': a duration is a string with a unit, " \
                                "as 50ms, 1.5s or 2m, not 5"
    sim = netsim.Simulation(scenario={"host": [{"name": "web", "programs": ["server"]}]})
    sim.spawn("client", ask, args=("web",))
    with pytest.raises(ValueError, match=r"^scenario: 'host\[0\]\.programs': no program is named 'server' "
                                         r"\(the programs are client\)$"):
        sim.run()


@pytest.mark.netsim(seed=5, scenario={"network": {"delay": "10ms"}})
def test_the_fixture_takes_a_scenario(netsim_sim):
    netsim_sim.spawn("server", serve)
    netsim_sim.spawn("client", ask, args=("localhost",))
    assert netsim_sim.run().transcript == ("server: localhost from 127.0.0.1\n"
                                           "client: localhost got b'ping' after 0.040\n")


# --- lookups and clocks, under simrun and in-process alike ------------------------------------

LOOKUP = """\
import socket, time
for attempt in (1, 2):
    try:
        print(attempt, socket.getaddrinfo("web", 80, type=socket.SOCK_STREAM)[0][4])
    except socket.gaierror as e:
        print(attempt, "gaierror", e.errno, e.strerror)
print("wall", round(time.time() - 1704067200, 3), "monotonic", round(time.monotonic(), 3))
"""
LOOKUP_SCENARIO = {
    "host": [{"name": "web", "addresses": ["10.0.0.9"]},
             {"name": "laptop", "programs": ["lookup"], "clock_offset": "-2s"}],
    "fault": [{"kind": "resolve_fail", "name": "web", "error": "EAI_AGAIN", "nth": 1}],
}
# glibc's gai_strerror(EAI_AGAIN); a host 2 s behind on the wall clock, not on the
# monotonic one (100 s of uptime at the start, as every simulated host has).
LOOKUP_LINES = ["lookup: 1 gaierror -3 Temporary failure in name resolution",
                "lookup: 2 ('10.0.0.9', 80)",
                "lookup: wall -2.0 monotonic 100.0"]


def test_lookups_fail_and_clocks_skew_under_simrun(tmp_path):
    (tmp_path / "lookup.py").write_text(LOOKUP)
    (tmp_path / "s.toml").write_text(textwrap.dedent("""\
        [[host]]
        name = "web"
        addresses = ["10.0.0.9"]

        [[host]]
        name = "laptop"
        programs = ["lookup"]
        clock_offset = "-2s"

        [[fault]]
        kind = "resolve_fail"
        name = "web"
        error = "EAI_AGAIN"
        nth = 1
    """))
    status, out, err = run("--scenario", "s.toml", "--no-annotate", "lookup.py", cwd=tmp_path)
    assert (status, err) == (0, "")
    assert out.splitlines() == LOOKUP_LINES


def test_lookups_fail_and_clocks_skew_in_process(tmp_path):
    path = tmp_path / "lookup.py"
    path.write_text(LOOKUP)
    sim = netsim.Simulation(scenario={**LOOKUP_SCENARIO, "annotate": False})
    sim.spawn_script(None, path)
    assert sim.run().transcript.splitlines() == LOOKUP_LINES


# --- pause and resume: the run goes on without the paused program ------------------------------

TICKER = """\
import time
start = time.monotonic()
for tick in range(1, 5):
    time.sleep(1)
    print(tick, round(time.monotonic() - start, 3))
"""
WATCHER = """\
import time
start = time.monotonic()
for tick in range(1, 7):
    time.sleep(1)
print("watcher done at", round(time.monotonic() - start, 3))
"""
PAUSE = [{"kind": "pause", "at": "1.5s", "process": "ticker", "duration": "2s"}]
# SIGSTOP at 1.5 s, SIGCONT at 3.5 s: the sleep that ended meanwhile returns then, as
# Linux restarts an interrupted nanosleep with what is left of it (nothing).
PAUSE_LINES = ["ticker: 1 1.0", "ticker: 2 3.5", "ticker: 3 4.5", "ticker: 4 5.5", "watcher: watcher done at 6.0"]


def test_a_paused_program_resumes_where_it_was_under_simrun(tmp_path):
    (tmp_path / "ticker.py").write_text(TICKER)
    (tmp_path / "watcher.py").write_text(WATCHER)
    (tmp_path / "s.toml").write_text('[[fault]]\nkind = "pause"\nat = "1.5s"\nprocess = "ticker"\nduration = "2s"\n')
    results = [run("--scenario", "s.toml", "--no-annotate", "ticker.py", "watcher.py", cwd=tmp_path)
               for _ in range(3)]
    for status, out, err in results:
        assert (status, err) == (0, "")
        assert out.splitlines() == PAUSE_LINES


def test_a_paused_program_resumes_where_it_was_in_process(tmp_path):
    (tmp_path / "ticker.py").write_text(TICKER)
    (tmp_path / "watcher.py").write_text(WATCHER)
    sim = netsim.Simulation(scenario={"fault": PAUSE, "annotate": False})
    sim.spawn_script(None, tmp_path / "ticker.py")
    sim.spawn_script(None, tmp_path / "watcher.py")
    assert sim.run().transcript.splitlines() == PAUSE_LINES
