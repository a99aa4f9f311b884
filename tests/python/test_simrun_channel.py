"""The shim channel is untrusted input: a program that writes its own requests into its
slot (tests/shim/channel_fuzz.cpp) cannot crash, hang or bloat simrun. A malformed
request stops its sender with one line on its stderr; the other programs go on and
keep all their output. Each run goes through netsim.run_commands in a fresh
interpreter, which reports simrun's peak RSS too, and runs twice with the same seed
for the same bytes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120.0

# A well-behaved program run alongside, last, so that the run ends with it.
PRINTER = "python3 -c 'import time\nfor i in range(3): print(\"line\", i); time.sleep(0.001)'"
PRINTED = [b"python3: line 0", b"python3: line 1", b"python3: line 2"]

RUN = """
import json, sys, netsim
report = netsim.run_commands(sys.argv[2:], seed=int(sys.argv[1]), timeout=90)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
sys.stdout.write(json.dumps({"transcript": report.transcript_bytes.decode("latin-1"),
                             "exit_status": report.exit_status, "peak_kib": peak,
                             "outcomes": [p.outcome for p in report.processes]}))
"""

OFFENDER = re.compile(rb"^(\S+): netsim: (\S+) \(pid \d+\) sent a malformed request on the shim channel "
                      rb"\(call (-?\d+), [^\n]*\); stopped$", re.M)


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory) -> str:
    compiler = shutil.which("c++")
    assert compiler, "no C++ compiler: run scripts/deps"
    out = tmp_path_factory.mktemp("channel") / "channel_fuzz"
    subprocess.run([compiler, "-std=c++20", "-O2", "-I", str(ROOT / "shim/include"), "-o", str(out),
                    str(ROOT / "tests/shim/channel_fuzz.cpp")], check=True)
    return str(out)


def run(seed: int, *commands: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUN, str(seed), *commands], capture_output=True,
                          timeout=DEADLINE)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    report = json.loads(proc.stdout)
    report["transcript"] = report["transcript"].encode("latin-1")
    return report


def run_twice(seed: int, *commands: str) -> dict:
    first, second = run(seed, *commands), run(seed, *commands)
    assert first["transcript"] == second["transcript"]
    assert first["outcomes"] == second["outcomes"]
    return first


def test_a_well_formed_request_from_the_program_itself_is_served(fuzzer: str) -> None:
    report = run_twice(5, f"{fuzzer} poke valid", PRINTER)
    # getpgid(0): the program leads its own group, with its own virtual pid.
    assert report["transcript"].splitlines() == [b"channel_fuzz: survived: result 1000", *PRINTED]
    assert report["outcomes"] == ["exited with status 0", "exited with status 0"]


@pytest.mark.parametrize("case, detail", [
    ("write-size", "call 1, size 1048576 > 65536"),
    ("sendto-size", "call 44, size 1048576 > 65536"),
    ("poll-size", "call 7, size 1048576 > 65536"),
    ("recvfrom-size", "call 45, 1099511627776 bytes to receive > 65536"),
    ("unsupported-size", "call 100005, size 4611686018427387904 > 65536"),
    ("unknown-call", "call 9999, which the shim never sends"),
])
def test_a_malformed_request_stops_its_sender_with_one_line(fuzzer: str, case: str, detail: str) -> None:
    report = run_twice(5, f"{fuzzer} poke {case}", PRINTER)
    assert report["transcript"].splitlines() == [
        f"channel_fuzz: netsim: channel_fuzz (pid 1000) sent a malformed request on the shim channel "
        f"({detail}); stopped".encode(),
        *PRINTED,
    ]
    assert report["outcomes"] == ["killed by SIGKILL", "exited with status 0"]
    assert report["exit_status"] == 0


def test_a_forked_pid_that_is_no_child_of_the_caller_is_never_signalled(fuzzer: str) -> None:
    bystander = subprocess.Popen(["sleep", "600"])
    try:
        report = run_twice(5, f"{fuzzer} poke forked-foreign {bystander.pid}", PRINTER)
        assert bystander.poll() is None, "simrun signalled a process that is not its own"
        assert report["transcript"].splitlines() == [b"channel_fuzz: survived: result -3", *PRINTED]  # ESRCH
    finally:
        bystander.kill()
        bystander.wait()


def fuzz(fuzzer: str, seed: int, workers: int, requests: int) -> dict:
    return run(seed, PRINTER, f"{fuzzer} fuzz {seed} {workers} {requests}")


def check_fuzz_run(report: dict, workers: int, requests: int) -> None:
    text = report["transcript"]
    assert report["exit_status"] == 0, text[-2000:].decode(errors="replace")
    for line in PRINTED:
        assert line in text.splitlines()
    summary = re.search(rb"^channel_fuzz: fuzz: (\d+) workers, (\d+) requests, (\d+) malformed, 0 failures$",
                        text, re.M)
    assert summary, text[-2000:].decode(errors="replace")
    assert int(summary[1]) == workers and int(summary[2]) > workers * requests // 2
    # Every malformed request announced by a worker is followed, in that worker's
    # lines, by the simulator's line naming the same call; there is no other.
    announced = re.findall(rb"^(\S+): worker \d+ sends call (-?\d+), size \d+\n(.*)$", text, re.M)
    assert len(announced) == int(summary[3]) > 0
    for name, call, following in announced:
        match = OFFENDER.match(following)
        assert match and match[1] == name and match[2] == name and match[3] == call, following
    assert len(OFFENDER.findall(text)) == len(announced)
    assert b"survived" not in text and b"not as expected" not in text


def test_fuzzing_the_channel_keeps_simrun_up_and_bounded(fuzzer: str) -> None:
    # About 20,000 requests, then about 80,000 from as many workers.
    workers, requests = 100, 200
    report = fuzz(fuzzer, 11, workers, requests)
    check_fuzz_run(report, workers, requests)
    assert fuzz(fuzzer, 11, workers, requests)["transcript"] == report["transcript"]
    larger = fuzz(fuzzer, 11, workers, 4 * requests)
    check_fuzz_run(larger, workers, 4 * requests)
    # The trace keeps an event per failed call, so memory grows a little with the
    # requests; a slot's worth kept per request (64 KiB) would show 3.9 GiB here.
    growth = (larger["peak_kib"] - report["peak_kib"]) * 1024 / (3 * workers * requests)
    assert growth < 512, f"{growth:.0f} bytes of peak RSS per request"
