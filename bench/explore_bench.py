#!/usr/bin/env python3
"""How many seeds per second a schedule sweep runs: ``simrun --explore`` of the echo
example (examples/python/echo_server.py and echo_client.py, two real Python
processes per seed) with --jobs 1 and --jobs 2, and where a seed's time goes.

Figures (stdout, one "name value" line each; repetitions and targets go to stderr as
"# ..." lines):

  explore_echo_seeds_per_sec_jobs1   seeds per second of netsim.explore(..., jobs=1):
                                     from the call to the table, workers' start included
  explore_echo_seeds_per_sec_jobs2   the same with jobs=2 (target: at least 20 on a
                                     2-CPU machine)
  python_start_ms                    one `python3 -c pass` run natively: the floor of
                                     any seed that starts Python programs
  simrun_python_start_ms             the same under netsim.run_commands, in-process
  simrun_true_ms                     `true` under netsim.run_commands: what a run costs
                                     besides the programs' own start

Each figure is the median of --reps repetitions (default 3). Every sweep must give
exactly one outcome by exit statuses (the echo always ends the same way). Exit status: 0, 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ECHO = [os.path.join(ROOT, "examples", "python", "echo_server.py"),
        os.path.join(ROOT, "examples", "python", "echo_client.py")]
TARGET_JOBS2 = 20.0


def sweep(seeds: int, jobs: int) -> float:
    import netsim

    start = time.perf_counter()
    # Grouped by exit statuses: the echo's two processes print in either order, so
    # its transcripts differ between schedules, but it always ends the same way.
    found = netsim.explore(ECHO, seeds, jobs=jobs, outcome="exit")
    seconds = time.perf_counter() - start
    if len(found.outcomes) != 1:
        raise SystemExit(f"explore_bench: the echo gave {len(found.outcomes)} outcomes, not 1:\n{found}")
    return seeds / seconds


def per_run_ms(commands: list[str], runs: int = 10) -> float:
    import netsim

    start = time.perf_counter()
    for seed in range(runs):
        netsim.run_commands(commands, seed=seed)
    return 1000 * (time.perf_counter() - start) / runs


def native_ms(argv: list[str], runs: int = 10) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run(argv, check=True)
    return 1000 * (time.perf_counter() - start) / runs


def note(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seeds per second of simrun --explore on the echo example.")
    parser.add_argument("--seeds", type=int, default=100, help="seeds per sweep (default 100)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; the median is reported (default 3)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.reps < 1:
        parser.error("--seeds and --reps must be positive")
    figures: dict[str, list[float]] = {}
    for rep in range(1, args.reps + 1):
        for jobs in (1, 2):
            rate = sweep(args.seeds, jobs)
            figures.setdefault(f"explore_echo_seeds_per_sec_jobs{jobs}", []).append(rate)
            note(f"rep {rep}: {args.seeds} seeds with --jobs {jobs}: {rate:.1f} seeds/s")
        figures.setdefault("python_start_ms", []).append(native_ms([sys.executable, "-c", "pass"]))
        figures.setdefault("simrun_python_start_ms", []).append(per_run_ms([f"{sys.executable} -c pass"]))
        figures.setdefault("simrun_true_ms", []).append(per_run_ms(["true"]))
    for name, values in figures.items():
        print(f"{name} {statistics.median(values):.1f}")
    rate = statistics.median(figures["explore_echo_seeds_per_sec_jobs2"])
    note(f"--jobs 2 target at least {TARGET_JOBS2:g} seeds/s: {'met' if rate >= TARGET_JOBS2 else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
