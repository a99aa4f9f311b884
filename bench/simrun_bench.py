#!/usr/bin/env python3
"""What simrun costs in wall time, next to running the same programs natively,
measured in one run of this program.

Figures (stdout, one "name value" line each; every repetition and the targets go to
stderr as "# ..." lines):

  native_echo_wall_seconds    a Python echo server and client (simrun_echo_server.py,
                              simrun_echo_client.py) doing 10,000 round trips as two
                              real processes over loopback TCP, placed by Linux: from
                              starting the server to both having exited
  native_echo_one_cpu_wall_seconds
                              the same, both processes pinned to one CPU (the first
                              allowed), where a hand-over wakes no other CPU
  simrun_echo_wall_seconds    the same two scripts under `simrun`: from starting
                              simrun to its exit
  simrun_vs_native_ratio      simrun_echo_wall_seconds / native_echo_wall_seconds
                              (target: at most 1)
  simrun_vs_native_one_cpu_ratio
                              simrun_echo_wall_seconds / native_echo_one_cpu_wall_seconds
                              (target: at most 1.5)
  simrun_vs_best_native_ratio against the faster of the two native placements
  sleep_example_wall_seconds  sleepy.py, which sleeps 8 s in all, under simrun
                              (target: under 0.5)
  python_pass_ms              `python -c pass`: the interpreter's own start-up
  python_no_site_pass_ms      `python -S -c pass`: the same without site (and so
                              without any .pth file's imports)
  python_hi_ms                `python hi.py`, a script that prints one line
  simrun_hi_ms                `simrun hi.py`: simrun's interpreter, its imports, the
                              run, and hi.py's interpreter with the shim
  simrun_startup_over_python_ms
                              simrun_hi_ms - python_hi_ms (target: at most 20)
  python_hi_cpu_ms, simrun_hi_cpu_ms, simrun_startup_over_python_cpu_ms
                              the same in CPU time (user and system, of every
                              process the command started): what to compare on a
                              loaded machine, where wall times mostly measure waiting

--startup-only prints the start-up figures alone (and skips the echo and sleepy runs).

The echo figures include starting the interpreters (and, for simrun, importing
netsim). Each figure is the median of --reps repetitions (default 5; start-up
figures 4 times as many), the runs of one repetition interleaved so that a change
of the machine's load hits all alike. Every run's output is checked. Exit status:
0, 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(BENCH, "simrun_echo_server.py")
CLIENT = os.path.join(BENCH, "simrun_echo_client.py")
SLEEPY = os.path.join(BENCH, "sleepy.py")
HI = os.path.join(BENCH, "hi.py")
# Any port: nothing real listens on the simulated network.
SIMULATED_PORT = 9000
TARGET_RATIO = 1.0
TARGET_ONE_CPU_RATIO = 1.5
TARGET_SLEEP_SECONDS = 0.5
TARGET_STARTUP_MS = 20.0


class CheckFailed(Exception):
    pass


def first_cpu() -> None:
    """Pins the calling (child) process to the first CPU it may use."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def native_echo(count: int, pinned: bool) -> float:
    """Wall seconds for the echo scripts as two real processes, placed by Linux or
    both on one CPU."""
    place = first_cpu if pinned else None
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, SERVER, "0"], stdout=subprocess.PIPE, preexec_fn=place)
    try:
        # The server says its port once it listens: the client can connect.
        first = server.stdout.readline()
        if not first.startswith(b"listening on "):
            raise CheckFailed(f"native server said {first!r}")
        client = subprocess.run([sys.executable, CLIENT, first.split()[-1].decode(), str(count)],
                                capture_output=True, preexec_fn=place)
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


def children_cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def started(argv: list[str], expected: bytes) -> tuple[float, float]:
    """Wall and CPU milliseconds of one command that prints `expected`."""
    cpu = children_cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True)
    ms = 1000 * (time.perf_counter() - start)
    cpu_ms = 1000 * (children_cpu_seconds() - cpu)
    if done.returncode != 0 or done.stdout != expected or done.stderr:
        raise CheckFailed(f"{' '.join(argv)}: status {done.returncode}, {done.stdout + done.stderr!r}")
    return ms, cpu_ms


def startup() -> dict[str, float]:
    """One round of the start-up figures, interleaved."""
    simrun_command = os.path.join(os.path.dirname(sys.executable), "simrun")
    figures = {}
    for name, argv, expected in (("python_pass", [sys.executable, "-c", "pass"], b""),
                                 ("python_no_site_pass", [sys.executable, "-S", "-c", "pass"], b""),
                                 ("python_hi", [sys.executable, HI], b"hi\n"),
                                 ("simrun_hi", [simrun_command, HI], b"hi: hi\n")):
        figures[f"{name}_ms"], cpu_ms = started(argv, expected)
        if name.endswith("_hi"):
            figures[f"{name}_cpu_ms"] = cpu_ms
    return figures


def note(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Wall time of Python programs under simrun vs. run natively.",
        epilog="Prints 'name value' lines (see the module's docstring).")
    parser.add_argument("--count", type=int, default=10_000, help="echo round trips (default 10000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; the median is reported (default 5)")
    parser.add_argument("--startup-only", action="store_true", help="the start-up figures alone")
    args = parser.parse_args(argv)
    if args.count < 1 or args.reps < 1:
        parser.error("--count and --reps must be positive")

    native, one_cpu, simulated, sleeps = [], [], [], []
    starts: dict[str, list[float]] = {}
    try:
        for rep in range(1, args.reps + 1):
            if not args.startup_only:
                native.append(native_echo(args.count, pinned=False))
                one_cpu.append(native_echo(args.count, pinned=True))
                simulated.append(simrun_echo(args.count))
                sleeps.append(sleep_example())
                note(f"rep {rep}: native echo {native[-1]:.3f} s, on one CPU {one_cpu[-1]:.3f} s, simrun echo "
                     f"{simulated[-1]:.3f} s (x{simulated[-1] / native[-1]:.2f}, "
                     f"x{simulated[-1] / one_cpu[-1]:.2f}), simrun sleepy {sleeps[-1]:.3f} s")
            for _ in range(4):
                for name, ms in startup().items():
                    starts.setdefault(name, []).append(ms)
    except CheckFailed as e:
        print(f"simrun_bench: check failed: {e}", file=sys.stderr)
        return 1
    start_ms = {name: statistics.median(values) for name, values in starts.items()}
    over = start_ms["simrun_hi_ms"] - start_ms["python_hi_ms"]
    over_cpu = start_ms["simrun_hi_cpu_ms"] - start_ms["python_hi_cpu_ms"]
    if not args.startup_only:
        echo_figures(native, one_cpu, simulated, sleeps, args.count)
    for name, ms in start_ms.items():
        print(f"{name} {ms:.1f}")
    print(f"simrun_startup_over_python_ms {over:.1f}")
    print(f"simrun_startup_over_python_cpu_ms {over_cpu:.1f}")
    note(f"start-up over python hi.py: target at most {TARGET_STARTUP_MS} ms: "
         f"{'met' if over <= TARGET_STARTUP_MS else 'missed'}")
    return 0


def echo_figures(native: list[float], one_cpu: list[float], simulated: list[float], sleeps: list[float],
                 count: int) -> None:
    native_s, one_cpu_s, simulated_s, sleep_s = map(statistics.median, (native, one_cpu, simulated, sleeps))
    ratio, one_cpu_ratio = simulated_s / native_s, simulated_s / one_cpu_s
    print(f"native_echo_wall_seconds {native_s:.4f}")
    print(f"native_echo_one_cpu_wall_seconds {one_cpu_s:.4f}")
    print(f"simrun_echo_wall_seconds {simulated_s:.4f}")
    print(f"simrun_vs_native_ratio {ratio:.2f}")
    print(f"simrun_vs_native_one_cpu_ratio {one_cpu_ratio:.2f}")
    print(f"simrun_vs_best_native_ratio {simulated_s / min(native_s, one_cpu_s):.2f}")
    print(f"sleep_example_wall_seconds {sleep_s:.4f}")
    note(f"{count} round trips; ratio targets at most {TARGET_RATIO} (Linux's placement): "
         f"{'met' if ratio <= TARGET_RATIO else 'missed'}, at most {TARGET_ONE_CPU_RATIO} (one CPU): "
         f"{'met' if one_cpu_ratio <= TARGET_ONE_CPU_RATIO else 'missed'}")
    note(f"8 s of sleeps; target under {TARGET_SLEEP_SECONDS} s: "
         f"{'met' if sleep_s < TARGET_SLEEP_SECONDS else 'missed'}")


if __name__ == "__main__":
    sys.exit(main())
