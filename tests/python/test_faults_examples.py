"""The fault gallery (examples/faults): each example, under simrun as real processes
and in-process, prints its saved transcript byte for byte on every run; the seed
changes what it should change (which datagrams a lossy link drops) and nothing else.

After a deliberate change of behaviour, regenerate the transcripts and review the diff:

    python3 tests/python/test_faults_examples.py --update
"""

from __future__ import annotations

import difflib
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import netsim

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "examples" / "faults"
SEED = 1
RUNS = 20
WORKERS = 2
DEADLINE = 120.0

# name -> the COMMANDs, in start order, relative to the repository root; the
# scenario is examples/faults/<name>.toml.
EXAMPLES: dict[str, list[str]] = {
    "sliced": ["sliced_server.py", "sliced_client.py"],
    "partial": ["partial_server.py", "partial_client.py"],
    "partition": ["partition_server.py", "partition_client.py web", "partition_client.py web --timeout 0.5"],
    "restart": ["restart_server.py", "restart_client.py"],
    "udp": ["udp_server.py", "udp_client.py base", "udp_client.py base --ack"],
    "download": ["download_server.py", "download_client.py server"],
}


def commands(name: str) -> list[str]:
    return [f"examples/faults/{command}" for command in EXAMPLES[name]]


def scenario_path(name: str) -> str:
    return f"examples/faults/{name}.toml"


def saved(name: str) -> bytes:
    return (HERE / f"{name}.transcript").read_bytes()


def simrun(name: str, seed: int = SEED) -> tuple[int, bytes, bytes]:
    """simrun's status, transcript and stderr."""
    run = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", str(seed),
                          "--scenario", scenario_path(name), *commands(name)],
                         cwd=REPO, capture_output=True, timeout=DEADLINE)
    return run.returncode, run.stdout, run.stderr


def in_process(name: str, seed: int = SEED) -> bytes:
    """The example as netsim.Simulation runs it: each script as __main__ of a task."""
    sim = netsim.Simulation(seed, scenario=REPO / scenario_path(name))
    for command in commands(name):
        script, *argv = shlex.split(command)
        sim.spawn_script(None, REPO / script, argv)
    return sim.run().transcript_bytes


def assert_transcript(out: bytes, expected: bytes, what: str) -> None:
    if out != expected:
        diff = difflib.diff_bytes(difflib.unified_diff, expected.splitlines(keepends=True),
                                  out.splitlines(keepends=True), b"saved", b"this run")
        pytest.fail(f"{what}: the transcript differs from the saved one:\n"
                    + b"".join(diff).decode("utf-8", "backslashreplace"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_under_simrun_every_run_prints_the_saved_transcript(name):
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda _: simrun(name), range(RUNS)))
    for i, (status, out, err) in enumerate(results, 1):
        assert (status, err) == (0, b""), f"{name}, run {i}: status {status}, stderr {err!r}"
        assert_transcript(out, saved(name), f"{name} under simrun, run {i} of {RUNS}")


@pytest.mark.parametrize("name", EXAMPLES)
def test_in_process_every_run_prints_the_saved_transcript(name):
    for i in range(1, RUNS + 1):
        assert_transcript(in_process(name), saved(name), f"{name} in-process, run {i} of {RUNS}")


def test_another_seed_slices_otherwise():
    status, other, err = simrun("sliced", seed=SEED + 1)
    assert (status, err) == (0, b"")
    assert other != saved("sliced")
    assert in_process("sliced", SEED + 1) == other
    assert b"until the newline: b'the quick brown fox jumps over the lazy dog\\n'" in other


def test_another_seed_loses_other_datagrams():
    status, other, err = simrun("udp", seed=SEED + 1)
    assert (status, err) == (0, b"")
    assert other != saved("udp")
    assert in_process("udp", SEED + 1) == other
    # What the seed does not touch stays: every acknowledged message arrives.
    arrived = {int(n) for n in re.findall(rb"udp_server: got ack (\d+)", other)}
    assert arrived == set(range(1, 11))


@pytest.mark.parametrize("name", ["partial", "partition", "restart", "download"])
def test_without_randomness_the_seed_changes_nothing(name):
    status, out, err = simrun(name, seed=SEED + 7)
    assert (status, err, out) == (0, b"", saved(name))


def test_the_faults_show_their_effect():
    lines = {name: saved(name).decode().splitlines() for name in EXAMPLES}
    # The slicer's pieces are 1 to 4 bytes long, drawn from the seed.
    assert any(re.fullmatch(r"sliced_client: one recv: b'(t|th|the|the )'", line) for line in lines["sliced"])
    assert "partial_server: received 1024 bytes" in lines["partial"]
    assert "partial_server: received 100000 bytes" in lines["partial"]
    assert lines["restart"].count("restart_server: listening on 9003") == 1
    assert any(line.startswith("restart_server-2: listening on 9003") for line in lines["restart"])
    fired = [line for line in lines["udp"] if line.startswith("udp_server: got fire ")]
    assert 0 < len(fired) < 10, "30% loss lost none or all of ten datagrams"
    took = [float(m[1]) for line in lines["download"] if (m := re.search(r"bytes in ([0-9.]+)s", line))]
    # 262144 bytes at 2 Mbit/s: 1.05 s on the wire, plus the round trips.
    assert len(took) == 1 and 1.0 < took[0] < 2.0, took
    # Timed faults are announced where they fire (link conditions are no faults).
    assert "netsim: partition web | laptop at 2.200s" in lines["partition"]
    assert "netsim: heal web | laptop at 7.200s" in lines["partition"]
    assert "netsim: kill restart_server at 1.200s" in lines["restart"]
    assert "netsim: restart restart_server at 2.200s" in lines["restart"]
    # The client without a timeout waits out the partition and TCP's backoff after it.
    assert any(line.startswith("partition_client: [  9.9s no timeout] got pong 4") for line in lines["partition"])


def test_readme_shows_each_example():
    text = (HERE / "README.md").read_text()
    for name in EXAMPLES:
        words = ["simrun", "--seed", str(SEED), "--scenario", scenario_path(name)]
        words += [c if " " not in c else f'"{c}"' for c in commands(name)]
        assert "\n" + " ".join(words) + "\n" in text, name
        assert f"`{name}.transcript`" in text, name
    assert sorted(path.stem for path in HERE.glob("*.transcript")) == sorted(EXAMPLES)
    assert sorted(path.stem for path in HERE.glob("*.toml")) == sorted(EXAMPLES)


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {sys.argv[0]} --update   (rewrites examples/faults/*.transcript)")
    for name in EXAMPLES:
        status, out, err = simrun(name)
        if (status, err) != (0, b""):
            sys.exit(f"{name}: status {status}, stderr:\n{err.decode(errors='replace')}")
        (HERE / f"{name}.transcript").write_bytes(out)
        print("wrote", HERE / f"{name}.transcript")
