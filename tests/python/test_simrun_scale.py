"""simrun at scale, the limits that used to be fixed: a hundred threads sleeping at
once, two thousand connections through one epoll instance, a poll list longer than
one part of the shim's channel, three hundred processes alive at once. Each runs
twice and must print the same bytes; where Linux defines the answer, the same script
runs natively too and must print the same. Not timed: bench/scale_bench.py is."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DEADLINE = 300.0

SCRIPTS = {
    "threads.py": """
        import threading, time
        start = time.monotonic()
        threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"{len(threads)} threads slept in {time.monotonic() - start:.3f} s")
        """,
    "server.py": """
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        import selectors, socket, sys
        clients = int(sys.argv[1])
        sel = selectors.DefaultSelector()
        listener = socket.create_server(("127.0.0.1", 7000), backlog=clients)
        listener.setblocking(False)
        sel.register(listener, selectors.EVENT_READ)
        now = most = served = 0
        while served < clients:
            for key, _ in sel.select():
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ)
                    now += 1
                    most = max(most, now)
                    continue
                data = key.fileobj.recv(100)
                if data:
                    key.fileobj.sendall(data.upper())
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    now -= 1
                    served += 1
        print(type(sel).__name__, "served", served, "clients,", most, "at once")
        """,
    "clients.py": """
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        import socket, sys
        clients = int(sys.argv[1])
        conns = [socket.create_connection(("127.0.0.1", 7000)) for _ in range(clients)]
        for i, conn in enumerate(conns):
            conn.sendall(b"client %d" % i)
        right = sum(conn.recv(100) == b"CLIENT %d" % i for i, conn in enumerate(conns))
        for conn in conns:
            conn.close()
        print(right, "of", clients, "echoes right")
        """,
    "poll_many.py": """
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        import select, socket
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
        """,
    "processes.py": """
        import os
        read_end, write_end = os.pipe()
        children = []
        for i in range(300):
            pid = os.fork()
            if pid == 0:
                os.read(read_end, 1)  # all 300 are alive until the parent lets them go
                os._exit(i % 7)
            children.append(pid)
        os.close(read_end)
        os.write(write_end, b"x" * len(children))
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        print(len(children), "children, exit codes sum to", sum(codes), "; distinct pids:", len(set(children)))
        """,
}


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("scale")
    for name, text in SCRIPTS.items():
        (d / name).write_text(textwrap.dedent(text))
    return d


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


def native(script: Path) -> str:
    return subprocess.run([sys.executable, str(script)], capture_output=True, check=True, text=True).stdout


def test_a_hundred_threads_sleep_one_second_together(scripts: Path) -> None:
    out = twice(str(scripts / "threads.py"))
    assert out == "threads: 100 threads slept in 1.000 s\n"


def test_two_thousand_connections_through_one_epoll(scripts: Path) -> None:
    out = twice(f"{scripts}/server.py 2000", f"{scripts}/clients.py 2000")
    assert "server: EpollSelector served 2000 clients, 2000 at once\n" in out
    assert "clients: 2000 of 2000 echoes right\n" in out


def test_a_poll_list_longer_than_a_channel_part(scripts: Path) -> None:
    out = twice(str(scripts / "poll_many.py"))
    assert out == "poll_many: " + native(scripts / "poll_many.py")
    assert out == "poll_many: 1667 of 5000 ready; index sum 4165833\n"


def test_three_hundred_processes_at_once(scripts: Path) -> None:
    out = twice(str(scripts / "processes.py"))
    assert out == "processes: 300 children, exit codes sum to 897 ; distinct pids: 300\n"
