#!/usr/bin/env python3
"""How simrun and the in-process simulation grow: wall time, CPU time and peak
memory for many connections, threads, processes and tasks, with the cost per item so
that the growth from one size to the next shows.

Rows (stdout, one line each: "name items wall_s cpu_s peak_mb wall_ms_per_item
cpu_ms_per_item kb_per_item"). Each kind runs first with BASE items (a start-up's
worth: the interpreters, the run) and the costs per item are what a size adds to
that, divided by the items it adds: a cost per item that stays put from one size to
the next is linear growth, one that grows with the size is worse.

  simrun_connections  N  scale_server.py (one selectors loop) and scale_clients.py
                         (N connections held open at once, a message and its echo on
                         each) under simrun: from starting simrun to its exit
  simrun_threads      N  scale_threads.py: N threads of one process sleep 1 s each
  simrun_processes    N  scale_processes.py: N forked children alive at once
  inprocess_tasks     N  netsim.Simulation with N Python tasks (each an OS thread with
                         the baton) that each sleep a virtual second, in a fresh
                         interpreter: from creating the Simulation to run() returning

CPU: user and system time of everything the row started (simrun reaps its programs,
so theirs is counted too), which a busy machine inflates less than wall time.
Peak memory: for simrun rows, the largest sum of the proportional set sizes (Pss:
a page shared by k processes counts 1/k in each) of simrun and all its programs,
sampled every 5 ms or so; for in-process rows, the interpreter's peak resident memory
(its own ru_maxrss). Every run's output is checked. --quick runs the smaller sizes
only. Exit status: 0, or 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
BASE = 10

SIZES = {
    "simrun_connections": (100, 1_000, 10_000),
    "simrun_threads": (100, 1_000),
    "simrun_processes": (50, 500),
    "inprocess_tasks": (1_000, 10_000),
}
QUICK = {"simrun_connections": (100, 1_000), "simrun_threads": (100,), "simrun_processes": (50,),
         "inprocess_tasks": (1_000,)}

INPROCESS = """
import resource, sys, time, netsim
count = int(sys.argv[1])
done = []
def task(i):
    time.sleep(1)
    done.append(i)
start = time.perf_counter()
sim = netsim.Simulation(seed=1)
for i in range(count):
    sim.spawn("task", task, (i,))
sim.run()
wall = time.perf_counter() - start
assert sorted(done) == list(range(count)), len(done)
print(wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


class CheckFailed(Exception):
    pass


def tree_pss(root: int) -> int:
    """Bytes of proportional set size of `root` and its descendants now."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += 1024 * sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            pass  # it ended meanwhile
    return total


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simrun(*commands: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak MB of the tree, transcript."""
    cpu = cpu_of_children()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "netsim.simrun", "--seed", "1", "--timeout", "1800", *commands],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    finished = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not finished.wait(0.005):
            peak = max(peak, tree_pss(proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    finished.set()
    sampler.join()
    if proc.returncode != 0 or err:
        raise CheckFailed(f"simrun {' '.join(commands)}: status {proc.returncode}: {err.decode(errors='replace')}")
    return seconds, cpu_of_children() - cpu, peak / 2**20, out.decode()


def connections(n: int) -> tuple[float, float, float]:
    *costs, out = simrun(f"{BENCH}/scale_server.py {n}", f"{BENCH}/scale_clients.py {n}")
    if set(out.splitlines()) != {f"scale_server: EpollSelector served {n} clients, {n} at once",
                                 f"scale_clients: {n} of {n} echoes right"}:
        raise CheckFailed(f"{n} connections printed {out!r}")
    return tuple(costs)


def threads(n: int) -> tuple[float, float, float]:
    *costs, out = simrun(f"{BENCH}/scale_threads.py {n}")
    # The sleeps overlap; starting the threads takes a few calls each, and each call
    # costs 1 us of virtual time.
    slept = re.fullmatch(rf"scale_threads: {n} threads slept in ([0-9.]+) s\n", out)
    if not slept or not 1 <= float(slept[1]) <= 1 + 10e-6 * n:
        raise CheckFailed(f"{n} threads printed {out!r}")
    return tuple(costs)


def processes(n: int) -> tuple[float, float, float]:
    *costs, out = simrun(f"{BENCH}/scale_processes.py {n}")
    if out != f"scale_processes: {n} children, exit codes sum to {sum(i % 7 for i in range(n))} ; distinct pids: {n}\n":
        raise CheckFailed(f"{n} processes printed {out!r}")
    return tuple(costs)


def tasks(n: int) -> tuple[float, float, float]:
    cpu = cpu_of_children()
    done = subprocess.run([sys.executable, "-c", INPROCESS, str(n)], capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckFailed(f"{n} in-process tasks: {done.stderr}")
    seconds, max_rss_kb = done.stdout.split()
    return float(seconds), cpu_of_children() - cpu, int(max_rss_kb) / 1024


ROWS = {"simrun_connections": connections, "simrun_threads": threads, "simrun_processes": processes,
        "inprocess_tasks": tasks}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Wall time and peak memory of simrun and netsim at scale.")
    parser.add_argument("--quick", action="store_true", help="the smaller sizes only (a smoke run)")
    parser.add_argument("--only", choices=sorted(ROWS), action="append", help="these rows only")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else SIZES
    print("name items wall_s cpu_s peak_mb wall_ms_per_item cpu_ms_per_item kb_per_item", flush=True)
    try:
        for name, measure in ROWS.items():
            if args.only and name not in args.only:
                continue
            base = measure(BASE)
            print(f"{name} {BASE} {base[0]:.3f} {base[1]:.3f} {base[2]:.1f} - - -", flush=True)
            for n in sizes[name]:
                wall, cpu, peak = costs = measure(n)
                added = [(cost - at_base) / (n - BASE) for cost, at_base in zip(costs, base)]
                print(f"{name} {n} {wall:.3f} {cpu:.3f} {peak:.1f} {1000 * added[0]:.3f} {1000 * added[1]:.3f} "
                      f"{1024 * added[2]:.1f}", flush=True)
    except CheckFailed as e:
        print(f"scale_bench: check failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
