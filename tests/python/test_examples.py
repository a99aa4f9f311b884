"""The tutorial examples in examples/python/ run the same on every run and print
what their saved transcripts say.

Each example is run 50 times with seed 42; every run must give the same transcript
and trace bytes, equal to examples/python/<name>.transcript, so a change of
behaviour shows up as a diff of that file. After a deliberate change, regenerate
the files (from the repository root, with netsim importable) with

    python3 tests/python/test_examples.py --update

and review the diff.

The TLS example needs the openssl command: its certificate is made for the run, in
a temporary directory, and its trace is compared without payloads (OpenSSL draws
its own random bytes, so the ciphertext differs on every run).
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
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
# "-m module" runs a module as `python -m module` does; "{cert}" and "{key}" in
# arguments stand for the TLS certificate and key made by certificate().
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
    "http": [("-m http.server", ["-d", str(EXAMPLES / "site"), "8000"]), ("http_client.py", [])],
    "tls": [("tls_server.py", ["{cert}", "{key}"]), ("tls_client.py", ["{cert}"])],
    "threaded": [
        ("threaded_server.py", []),
        ("threaded_client.py", ["alice"]),
        ("threaded_client.py", ["bob"]),
    ],
    "thread_pool": [("thread_pool.py", [])],
}
# The examples whose trace is compared without the bytes sent.
TLS = {"tls"}
HAVE_OPENSSL = shutil.which("openssl") is not None
# The examples this machine can run.
RUNNABLE = [name for name in RECIPES if HAVE_OPENSSL or name not in TLS]

_certificate: tuple[tempfile.TemporaryDirectory, dict[str, str]] | None = None


def certificate() -> dict[str, str]:
    """A self-signed certificate for localhost, made once per interpreter in a
    temporary directory (removed at exit): {"cert": path, "key": path}."""
    global _certificate
    if _certificate is None:
        directory = tempfile.TemporaryDirectory(prefix="netsim-examples-")
        paths = {"cert": os.path.join(directory.name, "cert.pem"),
                 "key": os.path.join(directory.name, "key.pem")}
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "36500",
                        "-keyout", paths["key"], "-out", paths["cert"], "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        _certificate = directory, paths
    return _certificate[1]


def run_example(name: str, seed: int = SEED) -> netsim.Result:
    """Runs one example; the working directory must be the repository root."""
    recipe = RECIPES[name]
    if all(not argv for _, argv in recipe):
        # What examples/python/README.md shows.
        return netsim.run_scripts([str(EXAMPLES / script) for script, _ in recipe], seed=seed)
    sim = netsim.Simulation(seed)
    for script, argv in recipe:
        if any("{" in arg for arg in argv):
            argv = [arg.format(**certificate()) for arg in argv]
        if script.startswith("-m "):
            sim.spawn_module(None, script[3:], argv)
        else:
            sim.spawn_script(None, EXAMPLES / script, argv)
    return sim.run()


def trace_of(name: str, result: netsim.Result) -> str:
    """The trace to compare between runs: for TLS without what was sent (every
    event, size and moment must still be the same)."""
    if name not in TLS:
        return result.trace_jsonl
    return "\n".join(json.dumps({k: v for k, v in event.items() if k != "data" or event["event"] == "output"})
                     for event in result.trace)


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
        for name in RUNNABLE:
            first = run_example(name)
            first_trace = trace_of(name, first)
            for _ in range(RUNS - 1):
                other = run_example(name)
                assert other.transcript_bytes == first.transcript_bytes, name
                assert trace_of(name, other) == first_trace, name
            out[name] = first
        return out
    finally:
        os.chdir(cwd)
        sys.modules["__main__"] = _CALLERS_MAIN


@pytest.mark.parametrize("name", list(RECIPES))
def test_example_matches_its_saved_transcript(results, name):
    if name not in results:
        pytest.skip("needs the openssl command")
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
    assert lines[-4:] == ["echo_server: received b''", lines[-3], "echo_server: waiting for a connection",
                          "echo_server: netsim: stopped by SIGTERM at the end of the run"]
    assert lines[-3].startswith("echo_server: no data from ('127.0.0.1', ")
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
    assert lines[-3] == "asyncio_client: Close the connection"
    assert lines[-2].startswith("asyncio_server: Close the connection to ('127.0.0.1', ")
    assert lines[-1] == "asyncio_server: netsim: stopped by SIGTERM at the end of the run"


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


def test_http_server_logs_each_request(results):
    lines = results["http"].transcript.splitlines()
    assert lines[0] == "server: Serving HTTP on :: port 8000 (http://[::]:8000/) ..."
    # The access log's time is the virtual clock's, in UTC.
    assert [line for line in lines if line.startswith("server: ")][1:] == [
        'server: ::ffff:127.0.0.1 - - [01/Jan/2024 00:00:00] "GET / HTTP/1.1" 200 -',
        'server: ::ffff:127.0.0.1 - - [01/Jan/2024 00:00:00] "GET /hello.txt HTTP/1.1" 200 -',
        "server: netsim: stopped by SIGTERM at the end of the run",
    ]
    index = (REPO / EXAMPLES / "site" / "index.html").read_bytes()
    assert "http_client:   Content-Type: text/html" in lines
    assert f"http_client:   Content-Length: {len(index)}" in lines
    assert "http_client:   Content-Length: 18" in lines
    assert "http_client:   | hello from netsim" in lines
    assert [(p.name, p.status, p.killed) for p in results["http"].processes] == [
        ("server", 143, True), ("http_client", 0, False)]


def test_tls_echo(results):
    if "tls" not in results:
        pytest.skip("needs the openssl command")
    result = results["tls"]
    lines = result.transcript.splitlines()
    assert "tls_client: protocol TLSv1.3" in lines
    assert "tls_client: server certificate for localhost" in lines
    assert "tls_client: received b'Hello over TLS'" in lines
    assert "tls_server: received b'Goodbye'" in lines
    assert lines[-2:] == ["tls_server: client closed the connection",
                          "tls_server: netsim: stopped by SIGTERM at the end of the run"]
    assert "netsim-examples-" not in result.transcript  # no temporary paths
    assert [(p.name, p.status) for p in result.processes] == [("tls_server", 143), ("tls_client", 0)]


def test_threaded_server_serves_both_clients_at_once(results):
    text = results["threaded"].transcript
    for client, name, thread in (("threaded_client", "alice", "Thread-1"), ("threaded_client-2", "bob", "Thread-2")):
        replies = re.findall(rf"^{client}: received b'(.*)'$", text, re.M)
        assert replies == [f"{thread} (process_request_thread): {name} says hello #{i}" for i in (1, 2, 3)]
    # bob's first message is answered before alice's second: one thread each.
    assert text.index("threaded_client-2: received b'Thread-2") < text.index("alice says hello #2")
    assert results["threaded"].elapsed == 3.0  # three messages a second apart, side by side


def test_thread_pool_jobs_run_side_by_side(results):
    lines = results["thread_pool"].transcript.splitlines()
    assert sorted(lines[:5]) == [f"thread_pool: job {n} took 1.000 s (in ThreadPoolExecutor-0_{n - 1})"
                                 for n in range(1, 6)]
    assert lines[5:] == ["thread_pool: all jobs done in 1.000 s"]
    assert results["thread_pool"].elapsed == 1.0


def test_transcripts_do_not_depend_on_the_interpreter_process():
    """Two fresh interpreters with different hash seeds print the saved transcripts."""
    code = ("import sys; sys.path.insert(0, 'tests/python'); import test_examples as t\n"
            "for name in t.RUNNABLE:\n"
            "    sys.stdout.buffer.write(t.run_example(name).transcript_bytes)\n")
    expected = b"".join(saved(name) for name in RUNNABLE)
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
    if not HAVE_OPENSSL:
        sys.exit("needs the openssl command, for the TLS example")
    for name in RECIPES:
        path = EXAMPLES / f"{name}.transcript"
        path.write_bytes(run_example(name).transcript_bytes)
        print("wrote", path)
