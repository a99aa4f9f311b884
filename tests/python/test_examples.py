"""The tutorial examples in examples/python/ run the same on every run and print
what their saved transcripts say.

Each example is run 50 times with seed 42; every run must give the same transcript
and trace bytes, equal to examples/python/<name>.transcript, so a change of
behaviour shows up as a diff of that file. After a deliberate change, regenerate
the files (from the repository root, with netsim importable) with

    python3 tests/python/test_examples.py --update

and review the diff.
"""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import netsim

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("examples/python")  # relative: tracebacks show the path as given
SEED = 42
RUNS = 50
_CALLERS_MAIN = sys.modules["__main__"]  # see test_running_scripts_keeps_the_callers_main_module

# name -> the scripts to run, in spawn order, each with its command-line arguments.
RECIPES: dict[str, list[tuple[str, list[str]]]] = {
    "echo": [("echo_server.py", []), ("echo_client.py", [])],
    "select": [
        ("select_server.py", []),
        ("select_client.py", ["Hello"]),
        ("select_client.py", ["select is neat"]),
        ("select_client.py", ["one server, many clients, no threads"]),
    ],
    "asyncio": [("asyncio_server.py", []), ("asyncio_client.py", [])],
    # The client runs twice: first against the server that crashes, then again
    # when nobody listens any more.
    "buggy": [("buggy_server.py", []), ("buggy_client.py", []), ("buggy_client.py", [])],
}


def run_example(name: str, seed: int = SEED) -> netsim.Result:
    """Runs one example; the working directory must be the repository root."""
    recipe = RECIPES[name]
    if all(not argv for _, argv in recipe):
        # What examples/python/README.md shows.
        return netsim.run_scripts([str(EXAMPLES / script) for script, _ in recipe], seed=seed)
    sim = netsim.Simulation(seed)
    for script, argv in recipe:
        sim.spawn_script(None, EXAMPLES / script, argv)
    return sim.run()


# A traceback frame of netsim's own code or of runpy, which a script run with
# `python3 script.py` would not show (and whose path depends on the install).
_INTERNAL_FRAME = re.compile(rb'File "(?:[^"\n]*/netsim/[^"\n]*|<frozen runpy>|[^"\n]*/runpy\.py)"')


def saved(name: str) -> bytes:
    return (REPO / EXAMPLES / f"{name}.transcript").read_bytes()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def results():
    """name -> the result of the first of RUNS runs, once all of them printed the
    same transcript bytes and recorded the same trace."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        out = {}
        for name in RECIPES:
            first = run_example(name)
            for _ in range(RUNS - 1):
                other = run_example(name)
                assert other.transcript_bytes == first.transcript_bytes, name
                assert other.trace_jsonl == first.trace_jsonl, name
            out[name] = first
        return out
    finally:
        os.chdir(cwd)
        sys.modules["__main__"] = _CALLERS_MAIN


@pytest.mark.parametrize("name", list(RECIPES))
def test_example_matches_its_saved_transcript(results, name):
    assert results[name].transcript_bytes.decode() == saved(name).decode()


def test_echo(results):
    result = results["echo"]
    lines = result.transcript.splitlines()
    assert lines[0] == "echo_server: starting up on localhost port 10000"
    # 42 bytes echoed in 16-byte chunks.
    assert [line for line in lines if line.startswith("echo_client: received")] == [
        "echo_client: received b'This is the mess'",
        "echo_client: received b'age.  It will be'",
        "echo_client: received b' repeated.'",
    ]
    assert lines[-3:] == ["echo_server: received b''",
                          lines[-2], "echo_server: waiting for a connection"]
    assert lines[-2].startswith("echo_server: no data from ('127.0.0.1', ")
    assert [(p.name, p.status, p.killed) for p in result.processes] == [
        ("echo_server", 143, True), ("echo_client", 0, False)]


def test_select_serves_the_clients_interleaved(results):
    text = results["select"].transcript
    assert text.count("select_server:   connection from") == 3
    for client, words in (("select_client", ["Hello"]),
                          ("select_client-2", ["select", "is", "neat"]),
                          ("select_client-3", ["one", "server,", "many", "clients,", "no", "threads"])):
        received = re.findall(rf"^{client}: received b'(.*)'$", text, re.M)
        assert received == words
        assert f"{client}: closing socket" in text
    # The second client's second word is echoed after the third client has connected.
    assert text.index("select_client-3: connecting") < text.index("select_client-2: received b'is'")
    assert text.count("select_server:   closing") == 3
    assert results["select"].elapsed == 3.0  # six words, half a second apart


def test_asyncio(results):
    lines = results["asyncio"].transcript.splitlines()
    assert lines[0] == "asyncio_server: Serving on ('127.0.0.1', 8888)"
    assert "asyncio_client: Received: 'Hello World!\\n'" in lines
    assert "asyncio_client: Received: 'Goodbye!\\n'" in lines
    assert lines[-2] == "asyncio_client: Close the connection"
    assert lines[-1].startswith("asyncio_server: Close the connection to ('127.0.0.1', ")


def test_buggy_server_resets_then_refuses(results):
    result = results["buggy"]
    lines = result.transcript.splitlines()
    assert "buggy_server: Traceback (most recent call last):" in lines
    assert ('buggy_server:   File "examples/python/buggy_server.py", line 19, in <module>'
            in lines)
    assert "buggy_server: IndexError: list index out of range" in lines
    assert lines[-2:] == [
        "buggy_client: failed: ConnectionResetError(104, 'Connection reset by peer')",
        "buggy_client-2: failed: ConnectionRefusedError(111, 'Connection refused')",
    ]
    assert [(p.name, p.status, p.killed) for p in result.processes] == [
        ("buggy_server", 1, False), ("buggy_client", 1, False), ("buggy_client-2", 1, False)]
    assert result.exit_status == 1


def test_transcripts_do_not_depend_on_the_interpreter_process():
    """Two fresh interpreters with different hash seeds print the saved transcripts."""
    code = ("import sys; sys.path.insert(0, 'tests/python'); import test_examples as t\n"
            "for name in t.RECIPES:\n"
            "    sys.stdout.buffer.write(t.run_example(name).transcript_bytes)\n")
    expected = b"".join(saved(name) for name in RECIPES)
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, check=True)
        assert out.stdout == expected


def test_tracebacks_show_only_the_scripts_frames(results):
    transcript = results["buggy"].transcript_bytes
    assert b"Traceback (most recent call last):" in transcript
    assert not _INTERNAL_FRAME.search(transcript)


def test_a_leaked_socket_does_not_act_in_a_later_simulation():
    """A socket dropped without close() in one run and freed by the garbage collector
    in a later one must not touch that run's descriptors. (CPython's finalizer warns
    with repr(), which asked the kernel for the socket's addresses: in the buggy
    example the crashed server's sockets, kept alive past the run by
    test_running_scripts_keeps_the_callers_main_module's bug, did so in the next
    run's client, and its trace differed from the first run's.)"""
    def leaky():
        s = socket.socket()
        s.bind(("127.0.0.1", 5000))
        cycle = [s]
        cycle.append(cycle)  # freed only by the cyclic garbage collector

    def victim():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 6000))
            gc.collect()  # stands for an automatic collection at any point
            print("collected")

    gc.collect()
    gc.disable()  # so that only victim's gc.collect() frees the cycle
    try:
        sim = netsim.Simulation()
        sim.spawn("leaky", leaky)
        sim.run()
        sim = netsim.Simulation()
        sim.spawn("victim", victim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            events = [(e["event"], e.get("text")) for e in sim.run().trace]
    finally:
        gc.enable()
    assert events == [("spawn", "victim"), ("bind", None), ("output", None), ("output", None),
                      ("close", None), ("exit", None)]


def test_running_scripts_keeps_the_callers_main_module():
    sys.modules["__main__"] = _CALLERS_MAIN
    try:
        run_example("buggy")  # the server ends before its client
        assert sys.modules["__main__"] is _CALLERS_MAIN
    finally:
        sys.modules["__main__"] = _CALLERS_MAIN


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {sys.argv[0]} --update   (rewrites examples/python/*.transcript)")
    os.chdir(REPO)
    for name in RECIPES:
        path = EXAMPLES / f"{name}.transcript"
        path.write_bytes(run_example(name).transcript_bytes)
        print("wrote", path)
