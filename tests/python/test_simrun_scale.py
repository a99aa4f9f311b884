"""simrun at scale, the limits that used to be fixed: a hundred threads sleeping at
once, two thousand connections through one epoll instance, a poll list longer than
one part of the shim's channel, three hundred processes alive at once (the programs
are bench/scale_bench.py's). Each runs twice and must print the same bytes; where
Linux defines the answer, the same program runs natively too and must print the
same. Not timed: bench/scale_bench.py is; its --quick run is the last test here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
DEADLINE = 300.0

POLL_MANY = """
    import resource, select, socket
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    pairs = [socket.socketpair() for _ in range(5000)]
    for i, (a, b) in enumerate(pairs):
        if i % 3 == 0:
            a.send(b"x")
    poller = select.poll()
    for a, b in pairs:
        poller.register(b, select.POLLIN)
    ready = {fd for fd, _ in poller.poll(0)}
    index = {b.fileno(): i for i, (a, b) in enumerate(pairs)}
    print(len(ready), "of", len(pairs), "ready; index sum", sum(index[fd] for fd in ready))
    """


def simrun(*commands: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "7", "--timeout", str(DEADLINE), *commands],
                          capture_output=True, timeout=DEADLINE + 30)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.stderr == b""
    return proc.stdout.decode()


def twice(*commands: str) -> str:
    first = simrun(*commands)
    assert simrun(*commands) == first
    return first


def native(*argv: str) -> str:
    return subprocess.run([sys.executable, *argv], capture_output=True, check=True, text=True).stdout


def test_a_hundred_threads_sleep_one_second_together() -> None:
    assert twice(f"{BENCH}/scale_threads.py 100") == "scale_threads: 100 threads slept in 1.000 s\n"


def test_two_thousand_connections_through_one_epoll() -> None:
    out = twice(f"{BENCH}/scale_server.py 2000", f"{BENCH}/scale_clients.py 2000")
    assert "scale_server: EpollSelector served 2000 clients, 2000 at once\n" in out
    assert "scale_clients: 2000 of 2000 echoes right\n" in out


def test_a_poll_list_longer_than_a_channel_part(tmp_path: Path) -> None:
    script = tmp_path / "poll_many.py"
    script.write_text(textwrap.dedent(POLL_MANY))
    out = twice(str(script))
    assert out == "poll_many: " + native(str(script))
    assert out == "poll_many: 1667 of 5000 ready; index sum 4165833\n"


def test_three_hundred_processes_at_once() -> None:
    out = twice(f"{BENCH}/scale_processes.py 300")
    assert out == "scale_processes: 300 children, exit codes sum to 897 ; distinct pids: 300\n"
    assert native(str(BENCH / "scale_processes.py"), "300") == out.removeprefix("scale_processes: ")


def test_the_scale_benchmark_runs_quick() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "scale_bench.py"), "--quick"], capture_output=True, text=True,
                          timeout=DEADLINE)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert {row[0] for row in rows} == {"simrun_connections", "simrun_threads", "simrun_processes", "inprocess_tasks"}
    assert all(len(row) == 8 for row in rows)
