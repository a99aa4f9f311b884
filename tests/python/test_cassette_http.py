"""Cassettes end to end (issue 14, docs/cassettes.md): a real HTTP server run by the
test on the host's loopback, outside any simulation, is recorded under simrun with
requests and with curl as clients; the server is stopped and its port closed; the
cassette then replays byte-identical transcripts, and a client asking for something
else fails with the first-difference report."""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netsim import simrun

pytestmark = pytest.mark.simrun

REPLAYS = 20

REQUESTS_CLIENT = """\
import sys
import requests

response = requests.get(sys.argv[1], headers={"Authorization": "Bearer s3cret-token"})
print(response.status_code, response.headers["Content-Type"])
print(response.text, end="")
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = f"hello from the real server, you asked for {self.path}\nsession=abc123\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def real_server():
    """An HTTP server on the host's loopback, in a thread of this process; stopped and
    its port closed on leaving."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def assert_closed(port):
    """Nothing listens on the port any more: a replay cannot have used it."""
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "client.py"
    path.write_text(REQUESTS_CLIENT)
    return str(path)


def record(commands, cassette, port, **options):
    report = simrun.run_commands(commands, record=str(cassette), allow=[f"127.0.0.1:{port}"], **options)
    assert report.cassette == "", report.cassette
    assert report.exit_status == 0, report.transcript
    return report


def test_requests_recorded_then_replayed_identically_without_the_server(tmp_path, client):
    cassette = tmp_path / "hello.jsonl"
    with real_server() as port:
        url = f"http://127.0.0.1:{port}/hello"
        recorded = record([f"{client} {url}"], cassette, port, match="http", mask=["Authorization"],
                          mask_patterns=["session=[a-z0-9]+"])
    assert_closed(port)
    assert "200 text/plain" in recorded.transcript
    assert "you asked for /hello" in recorded.transcript
    text = cassette.read_text()
    assert "s3cret-token" not in text and "abc123" not in text
    assert "Authorization: " + "*" * len("Bearer s3cret-token") + "\\r\\n" in text  # as long as the value
    replays = [simrun.run_commands([f"{client} {url}"], replay=str(cassette), match="http")
               for _ in range(REPLAYS)]
    for replay in replays:
        assert replay.cassette == ""
        assert replay.exit_status == 0
        assert replay.transcript_bytes == replays[0].transcript_bytes
    stars = "*" * len("session=abc123")
    assert f"client: {stars}\n" in replays[0].transcript
    assert replays[0].transcript.replace(stars, "session=abc123") == recorded.transcript


def test_curl_recorded_then_replayed_and_another_path_fails(tmp_path):
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for this test (apt-get install curl)")
    cassette = tmp_path / "curl.jsonl"
    with real_server() as port:
        url = f"http://127.0.0.1:{port}"
        recorded = record([f"curl -s {url}/hello"], cassette, port)
    assert_closed(port)
    assert recorded.transcript == "curl: hello from the real server, you asked for /hello\ncurl: session=abc123\n"
    for _ in range(3):
        replay = simrun.run_commands([f"curl -s {url}/hello"], replay=str(cassette))
        assert (replay.cassette, replay.exit_status) == ("", 0)
        assert replay.transcript_bytes == recorded.transcript_bytes
    other = simrun.run_commands([f"curl -s {url}/other"], replay=str(cassette))
    assert other.cassette.startswith(
        f"cassette: connection 1 (the 1st to 127.0.0.1:{port}) differs from the recording at byte 5 "
        f"of what the program sent: expected \"hello HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n")
    assert f", got \"other HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n" in other.cassette
    assert other.exit_status != 0  # curl got no reply


def test_http_match_ignores_the_headers_it_is_told_to(tmp_path):
    cassette = tmp_path / "agent.jsonl"
    with real_server() as port:
        url = f"http://127.0.0.1:{port}/hello"
        record([f"curl -s {url}"], cassette, port)
    same = simrun.run_commands([f"curl -s -A other-agent {url}"], replay=str(cassette), match="http")
    assert (same.cassette, same.exit_status) == ("", 0)
    strict = simrun.run_commands([f"curl -s -A other-agent {url}"], replay=str(cassette))
    assert "differs from the recording at byte" in strict.cassette
    header = simrun.run_commands([f"curl -s -H X-Extra:1 {url}"], replay=str(cassette), match="http")
    assert header.cassette == (
        f"cassette: connection 1 (the 1st to 127.0.0.1:{port}) differs from the recording in request 1, "
        "line 4: expected \"(nothing)\", got \"X-Extra:1\"")


def test_simrun_command_line_records_and_replays(tmp_path):
    cassette = tmp_path / "cli.jsonl"
    simrun_cmd = [sys.executable, "-m", "netsim.simrun"]
    with real_server() as port:
        url = f"http://127.0.0.1:{port}/cli"
        first = subprocess.run([*simrun_cmd, "--record", str(cassette), "--allow", f"127.0.0.1:{port}",
                                f"curl -s {url}"], capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([*simrun_cmd, "--replay", str(cassette), f"curl -s {url}"],
                           capture_output=True, timeout=120)
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, b"")
    wrong = subprocess.run([*simrun_cmd, "--replay", str(cassette), f"curl -s {url}x"],
                           capture_output=True, timeout=120)
    assert wrong.returncode == 1
    assert wrong.stderr.decode().startswith("simrun: cassette: connection 1 (the 1st to 127.0.0.1:")
    assert wrong.stderr.count(b"\n") == 1


def test_record_mode_once_records_then_replays(tmp_path, client):
    cassette = tmp_path / "once.jsonl"
    with real_server() as port:
        url = f"http://127.0.0.1:{port}/once"
        first = simrun.run_commands([f"{client} {url}"], record=str(cassette), record_mode="once",
                                    allow=[f"127.0.0.1:{port}"])
    assert first.cassette == ""
    header = json.loads(cassette.read_text().splitlines()[0])
    assert header == {"netsim_cassette": 1, "services": [f"127.0.0.1:{port}"]}
    # The server is gone: "once" replays the cassette it finds.
    second = simrun.run_commands([f"{client} {url}"], record=str(cassette), record_mode="once",
                                 allow=[f"127.0.0.1:{port}"])
    assert (second.cassette, second.transcript_bytes) == ("", first.transcript_bytes)


def test_a_connection_beyond_the_recording_fails_in_replay_and_is_recorded_in_new_episodes(tmp_path, client):
    cassette = tmp_path / "episodes.jsonl"
    with real_server() as port:
        url = f"http://127.0.0.1:{port}"
        record([f"curl -s {url}/one"], cassette, port)
        two = [f"curl -s {url}/one", f"curl -s {url}/two"]
        missing = simrun.run_commands(two, replay=str(cassette))
        assert missing.cassette == (
            f"cassette: connection 2 (the 2nd to 127.0.0.1:{port}): the cassette has 1 connection(s) to "
            f"127.0.0.1:{port} and no more; record again (--record-mode all) or let new ones be recorded "
            "(--record-mode new_episodes)")
        added = simrun.run_commands(two, record=str(cassette), record_mode="new_episodes",
                                    allow=[f"127.0.0.1:{port}"])
        assert added.cassette == ""
    replay = simrun.run_commands(two, replay=str(cassette))
    assert replay.cassette == ""
    assert sorted(replay.transcript.splitlines()) == sorted(added.transcript.splitlines())
    assert [json.loads(line).get("service") for line in cassette.read_text().splitlines()
            if '"service"' in line] == [f"127.0.0.1:{port}"] * 2


@pytest.mark.parametrize("options, message", [
    ({"replay": "missing.jsonl"}, "no cassette missing.jsonl to replay; record it first (--record missing.jsonl)"),
    ({"record": "c.jsonl"}, "nothing to record: name the services the programs may reach with --allow "
                            "HOST:PORT (e.g. --allow localhost:8000), or the simulated servers with "
                            "--record-server HOST:PORT"),
    ({"record": "c.jsonl", "allow": ["nohost"]}, "--allow takes HOST:PORT (e.g. --allow api.example.com:80), "
                                                 "not 'nohost'"),
    ({"record": "c.jsonl", "allow": ["a:1"], "mask": ["Cookie"]}, "--mask needs --match http: a masked request "
     "header no longer matches the program's own bytes exactly, so it is ignored when matching request by request"),
    ({"allow": ["a:1"]}, "allow, record_mode, match and the masks go with record CASSETTE or replay CASSETTE"),
])
def test_bad_options_are_one_line_usage_errors(tmp_path, monkeypatch, client, options, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(simrun.UsageError) as raised:
        simrun.run_commands([client], **options)
    assert str(raised.value) == message


def test_a_service_that_is_not_running_is_reported_and_the_cassette_left_alone(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cassette = tmp_path / "down.jsonl"
    report = simrun.run_commands([f"curl -s http://127.0.0.1:{port}/"], record=str(cassette),
                                 allow=[f"127.0.0.1:{port}"])
    assert report.cassette == (f"cassette: connection 1 (the 1st to 127.0.0.1:{port}): cannot connect to the "
                               f"real service at 127.0.0.1:{port}: Connection refused; is it running?")
    assert not cassette.exists()


TLS_CLIENT = """\
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    # A ClientHello's first bytes; the line end makes http.server answer (400) at once.
    sock.sendall(bytes.fromhex("160301002e") + bytes(46) + b"\\r\\n\\r\\n")
    print("got", len(sock.recv(1000)) > 0)
"""


def test_recording_a_tls_conversation_is_refused_with_a_clear_error(tmp_path):
    client = tmp_path / "tls_client.py"
    client.write_text(TLS_CLIENT)
    cassette = tmp_path / "tls.jsonl"
    with real_server() as port:
        report = simrun.run_commands([f"{client} {port}"], record=str(cassette), allow=[f"127.0.0.1:{port}"])
    assert report.cassette == (
        f"cassette: connection 1 (the 1st to 127.0.0.1:{port}): the program spoke TLS to it, and a TLS "
        "conversation cannot be replayed (the handshake differs on every run): record the service "
        "without TLS (http://), see docs/cassettes.md")
    assert not cassette.exists()


def test_a_cassette_that_cannot_be_written_is_reported(tmp_path):
    cassette = tmp_path / "missing-directory" / "c.jsonl"
    with real_server() as port:
        report = simrun.run_commands([f"curl -s http://127.0.0.1:{port}/"], record=str(cassette),
                                     allow=[f"127.0.0.1:{port}"])
    assert report.cassette == f"cassette: cannot write {cassette}: No such file or directory"
    assert "you asked for /" in report.transcript
