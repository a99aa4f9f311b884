"""Name resolution has one source, the core's Kernel::resolve: the same program asks
the same questions under simrun (the shim's getaddrinfo, glibc's shapes) and
in-process (netsim._socket), and both transcripts must be these lines, byte for
byte. The shapes are glibc's (checked on Linux): no socket type gives SOCK_STREAM,
SOCK_DGRAM and SOCK_RAW per address, a named service only the protocols
/etc/services lists it for, SOCK_RAW with a service EAI_SERVICE; and
socket.create_connection tries each address in turn, so a refused first one falls
through to the next as it does on Linux."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import netsim

SERVER = """\
import socket
# IPv6 loopback only: "localhost" gives 127.0.0.1 first, which refuses.
with socket.socket(socket.AF_INET6) as listener:
    listener.bind(("::1", 7000))
    listener.listen()
    conn, peer = listener.accept()
    print("from", peer[0])
    conn.sendall(conn.recv(10).upper())
"""
CLIENT = """\
import socket

def show(*args, **kwargs):
    try:
        answers = socket.getaddrinfo(*args, **kwargs)
    except socket.gaierror as e:
        print(args, "gaierror", e.errno, e.strerror)
        return
    print(args, "; ".join(f"{f.name} {t.name} {p} {a}" for f, t, p, _, a in answers))

show("localhost", 80)
show("web", "http", type=socket.SOCK_STREAM)
show("web", "domain")
show("WEB", 53, socket.AF_INET6, proto=17)
show(None, 22, flags=socket.AI_PASSIVE, type=socket.SOCK_STREAM)
show("web", 80, type=socket.SOCK_RAW)
show("web", 80, type=socket.SOCK_STREAM, proto=17)
show("nowhere", 80)
print(socket.gethostbyname("web"), socket.gethostbyname_ex("localhost"))
with socket.create_connection(("localhost", 7000)) as sock:
    sock.sendall(b"ping")
    print("connected to", sock.getpeername()[0], sock.recv(10))
"""
SCENARIO = {"host": [{"name": "web", "addresses": ["10.0.0.9", "fd00::9"]}]}
SCENARIO_TOML = '[[host]]\nname = "web"\naddresses = ["10.0.0.9", "fd00::9"]\n'
LINES = [
    "client: ('localhost', 80) AF_INET SOCK_STREAM 6 ('127.0.0.1', 80); AF_INET SOCK_DGRAM 17 ('127.0.0.1', 80); "
    "AF_INET SOCK_RAW 0 ('127.0.0.1', 80); AF_INET6 SOCK_STREAM 6 ('::1', 80, 0, 0); "
    "AF_INET6 SOCK_DGRAM 17 ('::1', 80, 0, 0); AF_INET6 SOCK_RAW 0 ('::1', 80, 0, 0)",
    "client: ('web', 'http') AF_INET SOCK_STREAM 6 ('10.0.0.9', 80); AF_INET6 SOCK_STREAM 6 ('fd00::9', 80, 0, 0)",
    "client: ('web', 'domain') AF_INET SOCK_STREAM 6 ('10.0.0.9', 53); AF_INET SOCK_DGRAM 17 ('10.0.0.9', 53); "
    "AF_INET6 SOCK_STREAM 6 ('fd00::9', 53, 0, 0); AF_INET6 SOCK_DGRAM 17 ('fd00::9', 53, 0, 0)",
    "client: ('WEB', 53, <AddressFamily.AF_INET6: 10>) AF_INET6 SOCK_DGRAM 17 ('fd00::9', 53, 0, 0)",
    "client: (None, 22) AF_INET6 SOCK_STREAM 6 ('::', 22, 0, 0); AF_INET SOCK_STREAM 6 ('0.0.0.0', 22)",
    "client: ('web', 80) gaierror -8 Servname not supported for ai_socktype",
    "client: ('web', 80) gaierror -7 ai_socktype not supported",
    "client: ('nowhere', 80) gaierror -2 Name or service not known",
    "client: 10.0.0.9 ('localhost', [], ['127.0.0.1'])",
    "server: from ::1",
    "client: connected to ::1 b'PING'",
]


def test_simrun_answers_from_the_core(tmp_path):
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "client.py").write_text(CLIENT)
    (tmp_path / "s.toml").write_text(SCENARIO_TOML)
    outputs = set()
    for _ in range(3):
        done = subprocess.run([sys.executable, "-m", "netsim.simrun", "--scenario", "s.toml", "server.py",
                               "client.py"], cwd=tmp_path, capture_output=True, timeout=120)
        assert (done.returncode, done.stderr) == (0, b"")
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs.pop().decode().splitlines() == LINES


def test_in_process_answers_the_same(tmp_path):
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "client.py").write_text(CLIENT)
    transcripts = set()
    for _ in range(3):
        sim = netsim.Simulation(scenario=SCENARIO)
        sim.spawn_script(None, tmp_path / "server.py")
        sim.spawn_script(None, tmp_path / "client.py")
        transcripts.add(sim.run().transcript)
    assert len(transcripts) == 1
    assert transcripts.pop().splitlines() == LINES


def test_create_connection_raises_the_last_error_when_every_address_fails():
    # Linux's create_connection: each address refused, the last error raised.
    def client():
        import socket
        try:
            socket.create_connection(("localhost", 7001))
        except ConnectionRefusedError as e:
            print("refused", e.errno)

    sim = netsim.Simulation()
    sim.spawn("client", client)
    assert sim.run().transcript == textwrap.dedent("""\
        client: refused 111
    """)
