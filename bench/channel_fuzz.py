#!/usr/bin/env python3
"""The long version of tests/python/test_simrun_channel.py's fuzz run: at least a
million requests thrown at simrun over the shim channel by tests/shim/channel_fuzz.cpp
(compiled here with the system compiler), in one run of simrun.

Figures (stdout, one "name value" line each):

  requests              requests sent, well-formed and malformed
  malformed             malformed ones (each stops its worker)
  failures              workers that did not end as expected, plus checks of the
                        transcript that failed (every malformed request has its line)
  wall_seconds          from starting the run to its report
  requests_per_second   requests / wall_seconds
  peak_rss_mib          simrun's peak resident memory (VmHWM), interpreter included

Exit status: 0, 1 if there was a failure or the run did not end normally.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "tests", "shim", "channel_fuzz.cpp")
OFFENDER = re.compile(rb"^\S+: netsim: \S+ \(pid \d+\) sent a malformed request on the shim channel .*; stopped$",
                      re.M)
SUMMARY = re.compile(rb"^channel_fuzz: fuzz: (\d+) workers, (\d+) requests, (\d+) malformed, (\d+) failures$", re.M)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=250, help="forked one after another (default 250)")
    parser.add_argument("--requests", type=int, default=4000,
                        help="requests per worker, on average (default 4000: about 1,000,000 in all)")
    parser.add_argument("--timeout", type=float, default=600.0, help="wall-clock seconds for the run")
    args = parser.parse_args()
    import netsim  # here, so that --help works without the package

    with tempfile.TemporaryDirectory() as tmp:
        fuzzer = os.path.join(tmp, "channel_fuzz")
        subprocess.run(["c++", "-std=c++20", "-O2", "-I", os.path.join(ROOT, "shim", "include"), "-o", fuzzer,
                        SOURCE], check=True)
        start = time.perf_counter()
        report = netsim.run_commands([f"{fuzzer} fuzz {args.seed} {args.workers} {args.requests}"],
                                     seed=args.seed, timeout=args.timeout)
        wall = time.perf_counter() - start
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    text = report.transcript_bytes
    summary = SUMMARY.search(text)
    if report.exit_status != 0 or report.problem or not summary:
        print(f"# the run did not end normally (status {report.exit_status}): {report.problem}", file=sys.stderr)
        sys.stderr.buffer.write(text[-4000:])
        return 1
    requests, malformed, failures = int(summary[2]), int(summary[3]), int(summary[4])
    if len(OFFENDER.findall(text)) != malformed:
        print(f"# {len(OFFENDER.findall(text))} lines for {malformed} malformed requests", file=sys.stderr)
        failures += 1
    print(f"requests {requests}")
    print(f"malformed {malformed}")
    print(f"failures {failures}")
    print(f"wall_seconds {wall:.2f}")
    print(f"requests_per_second {requests / wall:.0f}")
    print(f"peak_rss_mib {peak_kib / 1024:.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
