"""Recording a simulated server (--record-server, docs/cassettes.md): the examples'
echo and web servers recorded under simulation, then their clients replayed against
the cassette alone, in both modes; and the cassette's services after the programs in
the pid order, as under simrun."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import netsim
from netsim import simrun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ECHO_SERVER = str(EXAMPLES / "python" / "echo_server.py")
ECHO_CLIENT = str(EXAMPLES / "python" / "echo_client.py")
# Sends what the echo client does not, and reads until the connection closes (the
# echo client itself reads for ever once it has: it counts bytes, and EOF gives none).
OTHER_CLIENT = """\
import socket
with socket.create_connection(("localhost", 10000)) as sock:
    sock.sendall(b"This is the message.  It will be changed.")
    print("got", sock.recv(100))
"""


def client_lines(transcript: str, name: str) -> str:
    return "".join(line for line in transcript.splitlines(keepends=True) if line.startswith(f"{name}: "))


@pytest.mark.simrun
def test_the_echo_server_recorded_then_its_client_replayed_alone(tmp_path):
    cassette = tmp_path / "echo.jsonl"
    recorded = simrun.run_commands([ECHO_SERVER, ECHO_CLIENT], seed=42, record=str(cassette),
                                   record_server=["localhost:10000"])
    assert recorded.cassette == ""
    records = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert records[0] == {"netsim_cassette": 1, "services": ["localhost:10000"]}
    sent = [(r["from"], r.get("text")) for r in records if "from" in r and "text" in r]
    message = "This is the message.  It will be repeated."
    assert sent == [("client", message), ("server", message[:16]), ("server", message[16:32]),
                    ("server", message[32:])]

    replays = [simrun.run_commands([ECHO_CLIENT], seed=42, replay=str(cassette)) for _ in range(20)]
    assert replays[0].cassette == ""
    # The client alone prints what it printed with the server there.
    assert replays[0].transcript == client_lines(recorded.transcript, "echo_client")
    assert all(r.transcript_bytes == replays[0].transcript_bytes for r in replays)

    other = tmp_path / "other_client.py"
    other.write_text(OTHER_CLIENT)
    different = simrun.run_commands([str(other)], seed=42, replay=str(cassette))
    assert different.cassette == (
        "cassette: connection 1 (the 1st to localhost:10000) differs from the recording at byte 33 of what "
        "the program sent: expected \"repeated.\", got \"changed.\"")
    assert different.transcript == "other_client: got b''\n"  # the connection closed


@pytest.mark.simrun
def test_the_command_line_records_the_web_server_and_replays_its_client(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(EXAMPLES / "python")
    cassette = tmp_path / "site.jsonl"
    server = "python3 -m http.server -d site 8000"
    assert simrun.main(["--seed", "42", "--record", str(cassette), "--record-server", "localhost:8000",
                        server, "http_client.py"]) == 0
    recorded = capfd.readouterr().out
    assert "http_client: GET http://localhost:8000/hello.txt 200 OK" in recorded
    for _ in range(3):
        assert simrun.main(["--seed", "42", "--replay", str(cassette), "--match", "http", "http_client.py"]) == 0
        assert capfd.readouterr().out == client_lines(recorded, "http_client")


@pytest.mark.simrun
def test_the_committed_web_server_cassette_replays_its_client_transcript(monkeypatch):
    monkeypatch.chdir(EXAMPLES / "python")
    cassette = str(EXAMPLES / "cassettes" / "site.jsonl")
    saved = (EXAMPLES / "cassettes" / "http_client.transcript").read_bytes()
    assert saved == client_lines((EXAMPLES / "simrun" / "http.transcript").read_text(), "http_client").encode()
    for _ in range(20):
        report = simrun.run_commands(["http_client.py"], seed=42, replay=cassette, match="http")
        assert (report.cassette, report.transcript_bytes) == ("", saved)
    sim = netsim.Simulation(42, replay=cassette, match="http")
    sim.spawn_script(None, "http_client.py")
    result = sim.run()
    assert (result.cassette, result.transcript_bytes) == ("", saved)


@pytest.mark.parametrize("options, message", [
    ({"replay": "c.jsonl", "record_server": ["localhost:1"]},
     "record_server goes with record CASSETTE: it names the simulated servers whose connections are recorded"),
    ({"record": "c.jsonl", "record_mode": "once", "record_server": ["localhost:1"]},
     "record_server records its server's connections anew, with record_mode all (the default with record), "
     "not once; replay the cassette with replay and the clients alone"),
    ({"record": "c.jsonl", "allow": ["localhost:1"], "record_server": ["localhost:1"]},
     "localhost:1 is both a real service (allow) and a simulated server (record_server): name it once"),
    ({"record": "c.jsonl", "record_server": ["localhost"]},
     "record_server takes HOST:PORT (e.g. record_server api.example.com:80), not 'localhost'"),
    ({"record": "c.jsonl", "record_server": ["web:80"]},
     "cassette: no simulated host named 'web' for web:80: a recorded server runs on a host of the run "
     "(--host web=PROGRAM, or a scenario's [[host]])"),
])
def test_bad_server_options_are_one_line_usage_errors(tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(simrun.UsageError) as raised:
        simrun.run_commands([ECHO_CLIENT], **options)
    assert str(raised.value) == message


def serve_upper():
    with socket.create_server(("0.0.0.0", 7000)) as listener:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                while data := conn.recv(100):
                    conn.sendall(data.upper())


def ask(words):
    for word in words:
        with socket.create_connection(("web", 7000)) as sock:
            sock.sendall(word)
            sock.shutdown(socket.SHUT_WR)
            print("asked", word, "got", sock.recv(100), "at", sock.getpeername()[0])


def test_in_process_a_server_on_a_named_host_recorded_then_replayed(tmp_path):
    cassette = str(tmp_path / "upper.jsonl")
    scenario = {"host": [{"name": "web", "programs": ["server"]}]}
    sim = netsim.Simulation(seed=3, scenario=scenario, record=cassette, record_server=["web:7000"])
    sim.spawn("server", serve_upper)
    sim.spawn("client", ask, ([b"one", b"two"],))
    recorded = sim.run()
    assert recorded.cassette == ""
    lookups = [json.loads(line) for line in Path(cassette).read_text().splitlines() if '"lookup"' in line]
    assert lookups == [{"lookup": "web", "addresses": ["10.0.0.2", "fd00::2"]}]

    transcripts = []
    for _ in range(5):
        sim = netsim.Simulation(seed=3, replay=cassette)
        sim.spawn("client", ask, ([b"one", b"two"],))
        result = sim.run()
        assert result.cassette == ""
        transcripts.append(result.transcript_bytes)
    assert transcripts[0].decode() == client_lines(recorded.transcript, "client")
    assert transcripts.count(transcripts[0]) == 5

    sim = netsim.Simulation(seed=3, replay=cassette)
    sim.spawn("client", ask, ([b"one", b"six"],))
    assert sim.run().cassette == (
        "cassette: connection 2 (the 2nd to web:7000) differs from the recording at byte 0 of what the "
        "program sent: expected \"two\", got \"six\"")


def test_in_process_the_programs_pids_do_not_depend_on_a_cassette(tmp_path):
    cassette = tmp_path / "upper.jsonl"
    sim = netsim.Simulation(seed=3, record=str(cassette), record_server=["localhost:7000"])
    sim.spawn("server", serve_upper)
    sim.spawn("client", ask, ([b"a", b"b"],))
    assert sim.run().cassette == ""

    def pids(**options):
        sim = netsim.Simulation(seed=3, **options)
        first = sim.spawn("client", lambda: print("pid", __import__("os").getpid() > 0))
        second = sim.spawn("other", lambda: None)
        return first, second

    assert pids() == pids(replay=str(cassette)) == pids(record=str(tmp_path / "other.jsonl"), allow=["localhost:7001"])
