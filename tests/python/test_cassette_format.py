"""The cassette file (docs/cassettes.md): version 1 as written and read, masking, and
a committed version-1 cassette that must keep replaying as it did."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netsim import _cassette, simrun

HERE = Path(__file__).resolve().parent / "cassettes"

CLIENT = """\
import socket
with socket.create_connection(("echo.example", 7)) as sock:
    print("echo.example is", sock.getpeername()[0])
    sock.sendall(b"ping\\n")
    print("got", sock.recv(100))
"""


def conversation():
    return _cassette.Conversation("api.example:80", [
        (True, b"GET / HTTP/1.1\r\nAuthor", False, 10),
        (True, b"ization: Bearer xyz\r\n\r\n", False, 20),
        (False, b"HTTP/1.1 200 OK\r\n\r\ntoken=ab12 \xff\x00", False, 1_000_000_007),
        (False, b"", True, 2_000_000_000),
    ])


def test_written_then_read_gives_the_same_cassette():
    cassette = _cassette.Cassette(services=["api.example:80"], lookups={"api.example": ["192.0.2.1"]},
                                  conversations=[conversation()])
    text = _cassette.dumps(cassette)
    assert _cassette.loads(text, "x") == cassette
    lines = text.splitlines()
    assert lines[0] == '{"netsim_cassette": 1, "services": ["api.example:80"]}'
    assert lines[3] == ('{"connection": 1, "from": "client", "at": "0.000000010", '
                        '"text": "GET / HTTP/1.1\\r\\nAuthor"}')
    assert '"base64": ' in lines[5] and '"at": "1.000000007"' in lines[5]  # not UTF-8: base64
    assert lines[6] == '{"connection": 1, "from": "server", "at": "2.000000000", "close": true}'
    assert _cassette.dumps(_cassette.loads(text, "x")) == text


def test_masks_keep_lengths_and_cover_a_header_split_between_sends():
    masked = _cassette.mask(conversation(), ["Authorization"], [re.compile(rb"token=\w+")])
    client = b"".join(c[1] for c in masked.chunks if c[0])
    server = b"".join(c[1] for c in masked.chunks if not c[0])
    assert client == b"GET / HTTP/1.1\r\nAuthorization: **********\r\n\r\n"
    assert server == b"HTTP/1.1 200 OK\r\n\r\n********** \xff\x00"
    assert [len(c[1]) for c in masked.chunks] == [len(c[1]) for c in conversation().chunks]


@pytest.mark.parametrize("text, message", [
    ('{"netsim_cassette": 2}\n', "c.jsonl: not a netsim cassette of version 1 (its first line has "
                                 "netsim_cassette: 2); record it again with this netsim"),
    ("GET /\n", "c.jsonl, line 1: not JSON (Expecting value); a cassette is one JSON object a line"),
    ('{"netsim_cassette": 1}\n{"connection": 3, "from": "client", "at": "0", "text": ""}\n',
     "c.jsonl, line 2: a record this version does not read (KeyError: 3)"),
    ("", "c.jsonl: empty; record it again (--record-mode all)"),
])
def test_a_bad_cassette_is_one_line(text, message):
    with pytest.raises(_cassette.CassetteError) as raised:
        _cassette.loads(text, "c.jsonl")
    assert str(raised.value) == message


@pytest.mark.simrun
def test_a_committed_version_1_cassette_keeps_replaying(tmp_path):
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    reports = [simrun.run_commands([str(client)], replay=str(HERE / "v1_echo.jsonl")) for _ in range(5)]
    assert reports[0].cassette == ""
    assert reports[0].transcript == ("client: echo.example is 192.0.2.7\n"
                                     "client: got b'pong\\n\\xff\\x00'\n")
    assert all(r.transcript_bytes == reports[0].transcript_bytes for r in reports)


def test_masked_headers_are_named_in_the_header_and_left_out_of_matching(tmp_path):
    path = tmp_path / "masked.jsonl"
    _cassette.save(str(path), _cassette.Cassette(["api.example:80"], ["Authorization"]))
    assert path.read_text().splitlines()[0] == ('{"netsim_cassette": 1, "services": ["api.example:80"], '
                                                '"masked_headers": ["Authorization"]}')
    plan = _cassette.plan(str(path), "none", [], "http", [], [], [])
    assert plan.ignored == ["authorization", "date", "user-agent"]
    with pytest.raises(_cassette.CassetteError) as raised:
        _cassette.plan(str(path), "none", [], "bytes", [], [], [])
    assert str(raised.value) == (f"{path} masks the headers Authorization: replay it with --match http, "
                                 "which leaves them out of the matching")



def test_an_in_process_simulation_replays_the_committed_cassette():
    import socket

    import netsim

    def ask(message):
        with socket.create_connection(("echo.example", 7)) as sock:
            print("echo.example is", sock.getpeername()[0])
            sock.sendall(message)
            print("got", sock.recv(100))

    results = []
    for message in (b"ping\n", b"ping\n", b"pong\n"):
        sim = netsim.Simulation(seed=1, replay=str(HERE / "v1_echo.jsonl"))
        sim.spawn("client", ask, (message,))
        results.append(sim.run())
    assert results[0].cassette == ""
    assert results[0].transcript == "client: echo.example is 192.0.2.7\nclient: got b'pong\\n\\xff\\x00'\n"
    assert results[1].transcript_bytes == results[0].transcript_bytes
    assert results[2].cassette == (
        "cassette: connection 1 (the 1st to echo.example:7) differs from the recording at byte 1 of what "
        "the program sent: expected \"ing\\n\", got \"ong\\n\"")
