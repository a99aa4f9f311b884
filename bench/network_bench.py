#!/usr/bin/env python3
"""The cost of netsim's network model: echo round trips per wall-clock second
between two fiber tasks (echo_bench's sim_echo_rtt_per_sec) on the plain network,
with 1 ms of latency on every link, and with a scenario of 10 faults that match the
echo's calls without changing them.

    python3 bench/network_bench.py [--quick] [ECHO_BENCH]

ECHO_BENCH defaults to build/bench/echo_bench (cmake --build build --target
echo_bench). Prints the three figures, one "name value" line each, then each one's
ratio to the plain run; the target is a ratio of at least 0.8 (at most 20% slower).
Exit status 0, 1 when echo_bench failed a check or a ratio misses the target.
"""

from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ("sim_echo_rtt_per_sec", "sim_echo_rtt_per_sec_latency", "sim_echo_rtt_per_sec_faults")
TARGET_RATIO = 0.8


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rest = [arg for arg in argv if arg != "--quick"]
    if len(rest) > 1 or any(arg.startswith("-") for arg in rest):
        print("usage: network_bench.py [--quick] [ECHO_BENCH]", file=sys.stderr)
        return 2
    binary = rest[0] if rest else os.path.join(REPO, "build", "bench", "echo_bench")
    if not os.access(binary, os.X_OK):
        print(f"network_bench: no echo_bench at {binary}: build it (cmake --build build "
              "--target echo_bench) or give its path", file=sys.stderr)
        return 2
    done = subprocess.run([binary, "--network", *(["--quick"] if quick else [])],
                          stdout=subprocess.PIPE, text=True)
    figures = dict(line.split() for line in done.stdout.splitlines() if line.count(" ") == 1)
    if done.returncode != 0 or not all(name in figures for name in FIGURES):
        print(f"network_bench: echo_bench --network failed (status {done.returncode})", file=sys.stderr)
        return 1
    plain = float(figures[FIGURES[0]])
    status = 0
    for name in FIGURES:
        print(name, figures[name])
    for name in FIGURES[1:]:
        ratio = float(figures[name]) / plain
        print(f"{name}_vs_plain {ratio:.2f}")
        if ratio < TARGET_RATIO:
            print(f"# {name}: {ratio:.2f} of the plain rate, below the target {TARGET_RATIO}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
