"""simrun end to end: the seed examples of examples/python, run as real processes by
`python -m netsim.simrun` exactly as examples/simrun/README.md shows them (from
examples/python). Every run must print the saved examples/simrun/<name>.transcript
byte for byte, bind no real port and leave no process behind; so must a copy of the
examples run from other directories, by another user, on another host name, with
another HOME and PYTHONHASHSEED.

After a deliberate change of behaviour, regenerate the transcripts (from anywhere,
with netsim importable) and review the diff:

    python3 tests/python/test_simrun_examples.py --update

Every simrun started here carries a marker in its environment, which its children
inherit; a process that still has it once simrun has returned was left behind.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "examples" / "simrun"
SEED = 42
RUNS = 20
# CI has two cores; each run keeps about one busy.
WORKERS = 2
# Wall-clock seconds for anything the tests wait for: far above what a run takes
# (well under a second), so only a hang reaches it.
DEADLINE = 120.0
MARKER = "NETSIM_SIMRUN_E2E"

# The examples run from the directory of the scripts, as the README says.
SCRIPTS = REPO / "examples" / "python"

# name -> (the COMMANDs given to simrun, in start order; simrun's exit status, which
# is the last command's). "{cert}" and "{key}" stand for the TLS files.
EXAMPLES: dict[str, tuple[list[str], int]] = {
    "echo": (["echo_server.py", "echo_client.py"], 0),
    "select": (["select_server.py",
                "select_client.py Hello",
                "select_client.py 'select is neat'",
                "select_client.py 'one server, many clients, no threads'"], 0),
    "asyncio": (["asyncio_server.py", "asyncio_client.py"], 0),
    "http": (["python3 -m http.server -d site 8000", "http_client.py"], 0),
    "tls": (["tls_server.py {cert} {key}", "tls_client.py {cert}"], 0),
    "threaded": (["threaded_server.py", "threaded_client.py alice", "threaded_client.py bob"], 0),
    "thread_pool": (["thread_pool.py"], 0),
    # The client runs twice: reset by the server's crash, then refused.
    "buggy": (["buggy_server.py", "buggy_client.py", "buggy_client.py"], 1),
}
# Where the README makes the TLS files. The tests make theirs in a temporary
# directory: the scripts print nothing of the paths, so the transcript is the same.
README_TLS = {"cert": "/tmp/netsim-tls/cert.pem", "key": "/tmp/netsim-tls/key.pem"}
# The port the echo, select, threaded and buggy servers listen on.
SERVER_PORT = 10000


def openssl_command(tls: dict[str, str]) -> str:
    """The openssl command of examples/python/README.md, which makes a self-signed
    certificate for localhost and its key."""
    return (f"openssl req -x509 -newkey rsa:2048 -nodes -days 365 -keyout {tls['key']} -out {tls['cert']} "
            "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1")


def make_tls_files(directory: str) -> dict[str, str]:
    """The TLS example's certificate and key, made by openssl run under simrun: its
    clock is then the simulation's, so the certificate is valid from the moment
    every simulation starts at (made outside, it would be valid only from now on,
    years after that moment, and the client would refuse it as not yet valid)."""
    tls = {"cert": os.path.join(directory, "cert.pem"), "key": os.path.join(directory, "key.pem")}
    status, _, err = simrun([openssl_command(tls)])
    assert (status, err) == (0, b""), f"openssl under simrun: status {status}, stderr {err!r}"
    return tls


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, str]:
    return make_tls_files(str(tmp_path_factory.mktemp("tls")))


def commands_of(name: str, tls: dict[str, str] | None = None) -> list[str]:
    return [command.format(**tls) if tls else command for command in EXAMPLES[name][0]]


def saved(name: str) -> bytes:
    return (HERE / f"{name}.transcript").read_bytes()


def shell_word(word: str) -> str:
    """`word` as the README writes it for a shell: double quotes when needed."""
    if re.fullmatch(r"[\w./=-]+", word):
        return word
    assert not set(word) & set('"$`\\!'), f"{word!r} needs other quoting"
    return f'"{word}"'


def command_line(name: str) -> str:
    return " ".join(["simrun", "--seed", str(SEED), *map(shell_word, commands_of(name, README_TLS))])


# --- running simrun and looking for what it left --------------------------------


def new_marker() -> str:
    # Of fixed length: the environment's size moves the children's stack, and the
    # runs compared must differ in nothing but the marker's value.
    return uuid.uuid4().hex


def start(commands: list[str], marker: str, cwd: Path = SCRIPTS, env: dict[str, str] | None = None,
          wrapper: list[str] = (), **popen) -> subprocess.Popen[bytes]:
    """simrun COMMANDS from `cwd`, with `env` (default: the test's own) and run by the
    `wrapper` command line when one is given."""
    return subprocess.Popen([*wrapper, sys.executable, "-m", "netsim.simrun", "--seed", str(SEED), *commands],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ if env is None else env, **{MARKER: marker}), **popen)


def finish(run: subprocess.Popen[bytes], marker: str) -> tuple[int, bytes, bytes]:
    """Waits for simrun (killing it past the deadline); returns (status, stdout,
    stderr) once it is checked that none of its processes is left."""
    try:
        out, err = run.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        run.kill()
        run.communicate()
        raise
    finally:
        assert_none_left(marker)
    return run.returncode, out, err


def simrun(commands: list[str], **start_options) -> tuple[int, bytes, bytes]:
    marker = new_marker()
    return finish(start(commands, marker, **start_options), marker)


def pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def read_proc(pid: int, name: str) -> bytes:
    """A /proc file of a process, b"" once it is gone (or for a zombie's environ)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return b""


def marked(marker: str) -> list[int]:
    entry = f"{MARKER}={marker}".encode()
    return [pid for pid in pids() if entry in read_proc(pid, "environ").split(b"\0")]


def assert_none_left(marker: str) -> None:
    left = {pid: read_proc(pid, "cmdline").replace(b"\0", b" ") for pid in marked(marker)}
    # Killed before failing, so that they disturb no later test.
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left after simrun returned: {left}"


def wait_until(condition, what: str):
    """Polls `condition` until it returns something true, which it returns."""
    deadline = time.monotonic() + DEADLINE
    while not (value := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)
    return value


def listeners(port: int) -> list[str]:
    """The real TCP sockets (IPv4 and IPv6) listening on `port`, as /proc/net shows them."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "0A" and int(local.rpartition(":")[2], 16) == port:  # 0A: TCP_LISTEN
                    found.append(f"{table}: {line.strip()}")
    return found


def inet_sockets_of(marker: str) -> list[str]:
    """The real TCP and UDP sockets that the marked processes hold."""
    inodes = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/net/{table}") as f:
            inodes |= {line.split()[9] for line in f.readlines()[1:]}
    held = []
    for pid in marked(marker):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held.append(f"pid {pid} fd {fd}: {target}")
    return held


def gate(fifo: Path) -> str:
    """A command that blocks in a real open() and read() of `fifo` until the test
    writes to it and closes it; it prints nothing."""
    return f"python3 -c 'open(\"{fifo}\").read()'"


def open_gate(fifo: Path) -> int:
    """The write end of `fifo`, once the gate command has opened it for reading."""
    def try_open():
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            return None
    return wait_until(try_open, f"a reader of {fifo}")


def assert_transcript(out: bytes, expected: bytes, what: str) -> None:
    if out != expected:
        diff = difflib.diff_bytes(difflib.unified_diff, expected.splitlines(keepends=True),
                                  out.splitlines(keepends=True), b"saved", b"this run")
        pytest.fail(f"{what}: the transcript differs from the saved one:\n"
                    + b"".join(diff).decode("utf-8", "backslashreplace"))


def assert_run(result: tuple[int, bytes, bytes], name: str, what: str) -> None:
    status, out, err = result
    assert (status, err) == (EXAMPLES[name][1], b""), f"{what}: status {status}, stderr {err!r}"
    assert_transcript(out, saved(name), what)


# --- the examples ------------------------------------------------------------------


@pytest.fixture
def commands(request):
    """commands(name): the example's COMMANDs, with real TLS files when it needs them."""
    def get(name: str) -> list[str]:
        tls = request.getfixturevalue("tls_files") if "{cert}" in " ".join(EXAMPLES[name][0]) else None
        return commands_of(name, tls)
    return get


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_its_saved_transcript_on_every_run(commands, name):
    argv = commands(name)
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda _: simrun(argv), range(RUNS)))
    for i, result in enumerate(results, 1):
        assert_run(result, name, f"{name}, run {i} of {RUNS}")


# Two machines as unlike as a test can make them: another directory (deeper, with a
# space), user, HOME, host name, hash seed, time zone and locale.
ELSEWHERE = [
    {"directory": "a", "host": "portable-a", "USER": "alice", "PYTHONHASHSEED": "1", "TZ": "America/New_York",
     "LANG": "C"},
    {"directory": "b/deeper dir", "host": "portable-b", "USER": "bob", "PYTHONHASHSEED": "2", "TZ": "Asia/Tokyo",
     "LANG": "en_US.UTF-8"},
]


def test_a_copy_of_the_examples_elsewhere_prints_the_saved_transcripts(commands, tmp_path):
    assert shutil.which("unshare"), "unshare (util-linux) is missing: it sets the host name for this test"
    runs = []
    for machine in ELSEWHERE:
        scripts = tmp_path / machine["directory"] / "python"
        shutil.copytree(SCRIPTS, scripts)
        home = tmp_path / f"home-{machine['USER']}"
        home.mkdir()
        env = dict(os.environ, HOME=str(home), LOGNAME=machine["USER"], LC_ALL=machine["LANG"],
                   **{key: machine[key] for key in ("USER", "PYTHONHASHSEED", "TZ", "LANG")})
        # A UTS namespace of its own: the host name changes for this run alone.
        wrapper = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', machine["host"]]
        runs += [(name, machine, scripts, env, wrapper) for name in EXAMPLES]
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda run: simrun(commands(run[0]), cwd=run[2], env=run[3], wrapper=run[4]),
                                runs))
    for (name, machine, *_), result in zip(runs, results):
        assert_run(result, name, f"{name}, run from {machine['directory']} on {machine['host']}")


def test_the_saved_transcripts_name_no_machine_path_and_show_no_shutdown_traceback():
    for path in HERE.glob("*.transcript"):
        text = path.read_text()
        assert not re.search(r"(^|[\s\"'(])/(root|home|tmp|usr|work)/", text, re.M), f"{path.name} names a path"
        assert "KeyboardInterrupt" not in text and "CancelledError" not in text, path.name


def test_thread_pool_reports_exact_virtual_durations(commands):
    status, out, err = simrun(commands("thread_pool"))
    assert (status, err) == (0, b"")
    lines = out.decode().splitlines()
    job = re.compile(r"thread_pool: job (\d) took 1\.000 s \(in ThreadPoolExecutor-0_\d\)")
    jobs = [job.fullmatch(line) for line in lines[:-1]]
    assert all(jobs) and sorted(match[1] for match in jobs) == ["1", "2", "3", "4", "5"], lines
    assert lines[-1] == "thread_pool: all jobs done in 1.000 s"


def test_buggy_client_reports_the_reset_then_the_refusal(commands):
    status, out, err = simrun(commands("buggy"))
    assert (status, err) == (1, b"")
    lines = out.decode().splitlines()
    assert "buggy_server: IndexError: list index out of range" in lines
    assert lines[-2:] == ["buggy_client: failed: ConnectionResetError(104, 'Connection reset by peer')",
                          "buggy_client-2: failed: ConnectionRefusedError(111, 'Connection refused')"]


def test_same_bytes_while_cpu_heavy_processes_run(commands):
    # One busy loop on every CPU simrun may use: the children's CPU among them.
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in os.sched_getaffinity(0)]
    try:
        results = [simrun(commands("threaded")) for _ in range(RUNS)]
        assert [hog.poll() for hog in hogs] == [None] * len(hogs), "the load ended before the runs"
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    for i, result in enumerate(results, 1):
        assert_run(result, "threaded", f"threaded under load, run {i} of {RUNS}")


def test_a_run_right_after_a_crash_succeeds(commands):
    # The crashed server listened on the port the echo server takes next.
    for i, name in enumerate(["buggy", "buggy", "echo", "buggy"], 1):
        assert_run(simrun(commands(name)), name, f"run {i} ({name})")


def test_a_run_right_after_simrun_itself_was_killed_succeeds(commands, tmp_path):
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    marker = new_marker()
    run = start([*commands("echo"), gate(fifo)], marker)
    try:
        writer = open_gate(fifo)
    finally:
        run.kill()
        run.communicate()
    os.close(writer)
    # SIGKILL leaves simrun no time to stop its children: they must end with it.
    wait_until(lambda: not marked(marker), "the killed simrun's children to end")
    assert_run(simrun(commands("echo")), "echo", "the run after")


def test_two_runs_started_together_succeed_and_bind_no_real_port(commands, tmp_path):
    echo = commands("echo")
    fifos = [tmp_path / "gate-1", tmp_path / "gate-2"]
    for fifo in fifos:
        os.mkfifo(fifo)
    markers = [new_marker() for _ in fifos]
    # The gate, last, holds each run open after the echo conversation, its server
    # listening on port 10000 in accept().
    runs = [start([*echo, gate(fifo)], marker) for fifo, marker in zip(fifos, markers)]
    writers = []
    try:
        for fifo in fifos:
            writers.append(open_gate(fifo))
        servers = [[pid for pid in marked(marker)
                    # simrun's namespace init is a fork of simrun: same command line.
                    if pid != run.pid and b"echo_server.py" in read_proc(pid, "cmdline")
                    and read_proc(pid, "comm") != b"netsim-init\n"]
                   for run, marker in zip(runs, markers)]
        real = (listeners(SERVER_PORT), [inet_sockets_of(marker) for marker in markers])
    finally:
        for writer in writers:
            os.close(writer)
        if len(writers) < len(fifos):  # a run never reached its gate
            for run in runs:
                run.kill()
        results = [finish(run, marker) for run, marker in zip(runs, markers)]
    assert [len(pids) for pids in servers] == [1, 1], "the servers were not found running"
    assert real == ([], [[], []]), "real sockets were bound"
    for i, result in enumerate(results, 1):
        assert_run(result, "echo", f"run {i} of 2")


def test_the_port_checks_see_real_sockets():
    """The checks above would notice a real listener: the test's own, and one in a
    process carrying a marker."""
    assert listeners(SERVER_PORT) == []
    with socket.create_server(("127.0.0.1", SERVER_PORT)):
        assert len(listeners(SERVER_PORT)) == 1
    with socket.create_server(("::1", SERVER_PORT), family=socket.AF_INET6):
        assert [line.startswith("/proc/net/tcp6:") for line in listeners(SERVER_PORT)] == [True]
    marker = new_marker()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import socket, sys; s = socket.create_server(('127.0.0.1', 0)); sys.stdin.read()"],
        stdin=subprocess.PIPE, env=dict(os.environ, **{MARKER: marker}))
    try:
        assert len(wait_until(lambda: inet_sockets_of(marker), "the holder's socket")) == 1
    finally:
        holder.stdin.close()
        holder.wait(DEADLINE)
    assert_none_left(marker)


def test_the_leftover_check_sees_a_marked_process():
    marker = new_marker()
    stray = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, env=dict(os.environ, **{MARKER: marker}))
    try:
        # Popen returns once the exec began, before the new image's environment is
        # readable in /proc: wait until the stray is seen at all.
        wait_until(lambda: marked(marker), "the stray process's environment")
        with pytest.raises(AssertionError, match="processes left after simrun returned"):
            assert_none_left(marker)
        assert stray.wait(DEADLINE) == -signal.SIGKILL
    finally:
        stray.stdin.close()


# The last command after the echo server: a loop of virtual sleeps that never ends,
# or a gate that blocks in a real read nobody answers.
SLEEPER = "python3 -c 'import pathlib, sys, time\npathlib.Path(sys.argv[1]).touch()\nwhile True: time.sleep(1)' {}"


@pytest.mark.parametrize("last", ["sleeping", "blocked"])
def test_sigint_stops_the_run_and_leaves_no_process(commands, tmp_path, last):
    if last == "sleeping":
        flag = tmp_path / "sleeping"
        final = SLEEPER.format(flag)
    else:
        fifo = tmp_path / "gate"
        os.mkfifo(fifo)
        final = gate(fifo)
    marker = new_marker()
    # In a session of its own, as a terminal's foreground job would be: the SIGINT
    # reaches simrun alone, which must stop its children itself.
    run = start([commands("echo")[0], final], marker, start_new_session=True)
    writer = None
    try:
        if last == "sleeping":
            wait_until(flag.exists, "the sleeper's loop")
        else:
            writer = open_gate(fifo)
        os.kill(run.pid, signal.SIGINT)
        status, out, err = finish(run, marker)
    finally:
        if writer is not None:
            os.close(writer)
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert status == 130, err
    assert b"interrupted by SIGINT" in err
    # What the server printed before it blocked in accept(), flushed.
    server_lines = saved("echo").split(b"echo_client:")[0]
    assert out == server_lines


def test_readme_shows_each_example_and_each_transcript_is_one():
    text = (HERE / "README.md").read_text()
    assert f'\nsimrun "{openssl_command(README_TLS)}" >/dev/null\n' in text
    for name in EXAMPLES:
        assert f"\n{command_line(name)}\n" in text, name
        assert f"`{name}.transcript`" in text, name
    assert sorted(path.stem for path in HERE.glob("*.transcript")) == sorted(EXAMPLES)


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {sys.argv[0]} --update   (rewrites examples/simrun/*.transcript)")
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(tmp)
        for name in EXAMPLES:
            status, out, err = simrun(commands_of(name, tls))
            if (status, err) != (EXAMPLES[name][1], b""):
                sys.exit(f"{name}: status {status}, stderr:\n{err.decode(errors='replace')}")
            (HERE / f"{name}.transcript").write_bytes(out)
            print("wrote", HERE / f"{name}.transcript")
