#!/usr/bin/env python3
"""How fast Python code talks over netsim's virtual network, next to the same code
over real loopback TCP, measured in one run of this program.

Figures (stdout, one "name value" line each; details of every repetition go to
stderr as "# ..." lines):

  netsim_rtt_per_sec          echo round trips per second between a server and a
                              client function spawned in one netsim.Simulation
                              (time from creating the Simulation to run() returning)
  real_threads_rtt_per_sec    the same echo over real TCP on 127.0.0.1 between two
                              threads of this process (TCP_NODELAY, blocking
                              sockets; time from starting the threads to joining them)
  netsim_vs_real_ratio        netsim_rtt_per_sec / real_threads_rtt_per_sec
  sleep_example_wall_seconds  wall time of simulating a script that sleeps 8 s in
                              total (time.sleep(1) eight times)

Each round trip sends a small message (16 bytes with a sequence number) and waits
for its echo, which is checked byte for byte. Rates are the best of 3 repetitions.
Exit status: 0, 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time

import netsim

MESSAGE_SIZE = 16
_perf = time.perf_counter  # bound now: inside simulated tasks time.* is virtual


class CheckFailed(Exception):
    pass


def _message(i: int) -> bytes:
    return f"{i:0{MESSAGE_SIZE}d}".encode()


def _recv_exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise CheckFailed(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def _serve(listener, count: int, received: list) -> None:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        n = 0
        while data := conn.recv(4096):
            conn.sendall(data)
            n += len(data)
        received.append(n)


def _ask(sock, count: int, echoed: list) -> None:
    with sock:
        for i in range(count):
            message = _message(i)
            sock.sendall(message)
            if _recv_exactly(sock, MESSAGE_SIZE) != message:
                raise CheckFailed(f"round trip {i}: wrong echo")
        sock.shutdown(socket.SHUT_WR)
        if sock.recv(1):
            raise CheckFailed("data after the last echo")
        echoed.append(count)


def _check(count: int, received: list, echoed: list, what: str) -> None:
    if echoed != [count] or received != [count * MESSAGE_SIZE]:
        raise CheckFailed(f"{what}: client finished {echoed}, server echoed {received} bytes; "
                          f"expected [{count}] and [{count * MESSAGE_SIZE}]")


def netsim_echo(count: int) -> float:
    """Seconds for `count` round trips between two simulated tasks."""
    received, echoed = [], []

    def server():
        listener = socket.socket()
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind(("127.0.0.1", 9000))
        listener.listen()
        with listener:
            _serve(listener, count, received)

    def client():
        sock = socket.create_connection(("127.0.0.1", 9000))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _ask(sock, count, echoed)

    start = _perf()
    sim = netsim.Simulation(seed=1)
    sim.spawn("server", server)
    sim.spawn("client", client)
    result = sim.run()
    seconds = _perf() - start
    if result.transcript_bytes:  # a task's traceback
        raise CheckFailed("netsim run printed:\n" + result.transcript)
    _check(count, received, echoed, "netsim")
    return seconds


def real_threads_echo(count: int) -> float:
    """Seconds for `count` round trips over real loopback TCP between two threads."""
    received, echoed, errors = [], [], []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # reported after join
                errors.append(e)
        return run

    def server():
        with listener:
            _serve(listener, count, received)

    def client():
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _ask(sock, count, echoed)

    threads = [threading.Thread(target=guarded(server)), threading.Thread(target=guarded(client))]
    start = _perf()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = _perf() - start
    if errors:
        raise CheckFailed(f"real threads: {errors[0]!r}")
    _check(count, received, echoed, "real threads")
    return seconds


SLEEP_SCRIPT = """\
import time
start = time.monotonic()
for i in range(8):
    time.sleep(1)
print("slept", time.monotonic() - start)
"""


def sleep_example() -> float:
    """Wall seconds to simulate a script that sleeps 8 s in all."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sleeper.py")
        with open(path, "w") as f:
            f.write(SLEEP_SCRIPT)
        start = _perf()
        result = netsim.run_scripts([path], seed=1)
        seconds = _perf() - start
    if result.transcript != "sleeper: slept 8.0\n" or result.elapsed != 8.0:
        raise CheckFailed(f"sleep example: {result.transcript!r}, {result.elapsed} virtual s")
    return seconds


def timed(name: str, fn, count: int, rep: int) -> float:
    """Round trips per second of one repetition."""
    seconds = fn(count)
    rate = count / seconds
    print(f"# {name} rep {rep}: {count} round trips in {seconds:.4f} s = {rate:.0f}/s",
          file=sys.stderr, flush=True)
    return rate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Python echo round trips under netsim vs. real loopback TCP between threads.",
        epilog="Prints 'name value' lines: netsim_rtt_per_sec, real_threads_rtt_per_sec, "
               "netsim_vs_real_ratio, sleep_example_wall_seconds.")
    parser.add_argument("--quick", action="store_true", help="1,000 round trips instead of 10,000 (a smoke run)")
    parser.add_argument("--count", type=int, help="round trips per repetition (default 10000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; the best is reported (default 3)")
    args = parser.parse_args(argv)
    count = args.count or (1000 if args.quick else 10_000)
    if count < 1 or args.reps < 1:
        parser.error("--count and --reps must be positive")

    try:
        # Interleaved, so that a change in the machine's load hits both alike.
        sim_best = real_best = 0.0
        for rep in range(1, args.reps + 1):
            sim_best = max(sim_best, timed("netsim", netsim_echo, count, rep))
            real_best = max(real_best, timed("real_threads", real_threads_echo, count, rep))
        wall = sleep_example()
    except CheckFailed as e:
        print(f"python_echo_bench: check failed: {e}", file=sys.stderr)
        return 1
    print(f"netsim_rtt_per_sec {sim_best:.0f}")
    print(f"real_threads_rtt_per_sec {real_best:.0f}")
    print(f"netsim_vs_real_ratio {sim_best / real_best:.2f}")
    print(f"sleep_example_wall_seconds {wall:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
