#!/usr/bin/env python3
"""What simrun costs in wall time, next to running the same programs natively,
measured in one run of this program.

Figures (stdout, one "name value" line each; every repetition and the targets go to
stderr as "# ..." lines):

  native_echo_wall_seconds    a Python echo server and client (simrun_echo_server.py,
                              simrun_echo_client.py) doing 10,000 round trips as two
                              real processes over loopback TCP: from starting the
                              server to both having exited
  simrun_echo_wall_seconds    the same two scripts under `simrun`: from starting
                              simrun to its exit
  simrun_vs_native_ratio      simrun_echo_wall_seconds / native_echo_wall_seconds
                              (target: at most 2)
  sleep_example_wall_seconds  sleepy.py, which sleeps 8 s in all, under simrun
                              (target: under 0.5)

Both echo figures include starting the interpreters (and, for simrun, importing
netsim). Each figure is the median of --reps repetitions (default 5), the native
and simrun echo runs interleaved so that a change of the machine's load hits both
alike. Every run's output is checked. Exit status: 0, 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(BENCH, "simrun_echo_server.py")
CLIENT = os.path.join(BENCH, "simrun_echo_client.py")
SLEEPY = os.path.join(BENCH, "sleepy.py")
# Any port: nothing real listens on the simulated network.
SIMULATED_PORT = 9000
TARGET_RATIO = 2.0
TARGET_SLEEP_SECONDS = 0.5


class CheckFailed(Exception):
    pass


def native_echo(count: int) -> float:
    """Wall seconds for the echo scripts as two real processes."""
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, SERVER, "0"], stdout=subprocess.PIPE)
    try:
        # The server says its port once it listens: the client can connect.
        first = server.stdout.readline()
        if not first.startswith(b"listening on "):
            raise CheckFailed(f"native server said {first!r}")
        client = subprocess.run([sys.executable, CLIENT, first.split()[-1].decode(), str(count)],
                                capture_output=True)
        rest = server.stdout.read()
        server.wait()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    seconds = time.perf_counter() - start
    if (client.returncode, client.stdout) != (0, f"{count} round trips\n".encode()) or \
            (server.returncode, rest) != (0, f"echoed {16 * count} bytes\n".encode()):
        raise CheckFailed(f"native echo: client {client.returncode} {client.stdout + client.stderr!r}, "
                          f"server {server.returncode} {rest!r}")
    return seconds


def simrun(*commands: str) -> tuple[float, bytes]:
    """Wall seconds of one simrun run, and its transcript."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "1", *commands],
                          capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or done.stderr:
        raise CheckFailed(f"simrun {' '.join(commands)}: status {done.returncode}, "
                          f"stderr {done.stderr.decode(errors='replace')}")
    return seconds, done.stdout


def simrun_echo(count: int) -> float:
    seconds, transcript = simrun(f"{SERVER} {SIMULATED_PORT}", f"{CLIENT} {SIMULATED_PORT} {count}")
    expected = {f"simrun_echo_server: listening on {SIMULATED_PORT}",
                f"simrun_echo_client: {count} round trips",
                f"simrun_echo_server: echoed {16 * count} bytes"}
    if set(transcript.decode(errors="replace").splitlines()) != expected:
        raise CheckFailed(f"simrun echo printed {transcript!r}")
    return seconds


def sleep_example() -> float:
    seconds, transcript = simrun(SLEEPY)
    if transcript != b"sleepy: slept 8.000 s\n":
        raise CheckFailed(f"sleepy.py under simrun printed {transcript!r}")
    return seconds


def note(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Wall time of Python programs under simrun vs. run natively.",
        epilog="Prints 'name value' lines: native_echo_wall_seconds, simrun_echo_wall_seconds, "
               "simrun_vs_native_ratio, sleep_example_wall_seconds.")
    parser.add_argument("--count", type=int, default=10_000, help="echo round trips (default 10000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; the median is reported (default 5)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.reps < 1:
        parser.error("--count and --reps must be positive")

    native, simulated, sleeps = [], [], []
    try:
        for rep in range(1, args.reps + 1):
            native.append(native_echo(args.count))
            simulated.append(simrun_echo(args.count))
            sleeps.append(sleep_example())
            note(f"rep {rep}: native echo {native[-1]:.3f} s, simrun echo {simulated[-1]:.3f} s "
                 f"(x{simulated[-1] / native[-1]:.2f}), simrun sleepy {sleeps[-1]:.3f} s")
    except CheckFailed as e:
        print(f"simrun_bench: check failed: {e}", file=sys.stderr)
        return 1
    native_s, simulated_s, sleep_s = map(statistics.median, (native, simulated, sleeps))
    ratio = simulated_s / native_s
    print(f"native_echo_wall_seconds {native_s:.4f}")
    print(f"simrun_echo_wall_seconds {simulated_s:.4f}")
    print(f"simrun_vs_native_ratio {ratio:.2f}")
    print(f"sleep_example_wall_seconds {sleep_s:.4f}")
    note(f"{args.count} round trips; ratio target at most {TARGET_RATIO}: "
         f"{'met' if ratio <= TARGET_RATIO else 'missed'}")
    note(f"8 s of sleeps; target under {TARGET_SLEEP_SECONDS} s: "
         f"{'met' if sleep_s < TARGET_SLEEP_SECONDS else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
