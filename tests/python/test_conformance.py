"""Conformance: every example, and a program asking Linux about itself, prints the
same transcript in-process (netsim.Simulation) and under simrun (real processes),
for the same seed, byte for byte. Each mode runs each example twice, and the two
runs must agree too.

What may differ is declared once, in DIFFERENCES, each with its reason; the lines it
names are taken out of both transcripts before they are compared, and
docs/conformance.md lists the same table. A declared difference that no longer
shows is an error too: delete it.
"""

from __future__ import annotations

import datetime
import difflib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import netsim

REPO = Path(__file__).resolve().parents[2]
RUNS = 2
DEADLINE = 120.0


@dataclass(frozen=True)
class Example:
    directory: str  # where both modes run, relative to the repository
    commands: list[str]  # as simrun takes them
    seed: int
    scenario: str | None = None  # relative to the directory
    replay: str | None = None  # a cassette (relative to the directory), matched per HTTP request


def _python_examples() -> dict[str, Example]:
    def example(*commands: str) -> Example:
        return Example("examples/python", list(commands), 42)

    return {
        "echo": example("echo_server.py", "echo_client.py"),
        "select": example("select_server.py", "select_client.py Hello", "select_client.py 'select is neat'",
                          "select_client.py 'one server, many clients, no threads'"),
        "asyncio": example("asyncio_server.py", "asyncio_client.py"),
        "buggy": example("buggy_server.py", "buggy_client.py", "buggy_client.py"),
        "http": example("python3 -m http.server -d site 8000", "http_client.py"),
        "tls": example("tls_server.py {cert} {key}", "tls_client.py {cert}"),
        "threaded": example("threaded_server.py", "threaded_client.py alice", "threaded_client.py bob"),
        "thread_pool": example("thread_pool.py"),
    }


def _fault_examples() -> dict[str, Example]:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_faults_examples import EXAMPLES

    return {f"faults/{name}": Example("examples/faults", commands, 1, f"{name}.toml")
            for name, commands in EXAMPLES.items()}


EXAMPLES: dict[str, Example] = {
    **_python_examples(),
    **_fault_examples(),
    "explore/counter": Example("examples/explore", ["counter_server.py", "counter_client.py"], 0),
    "explore/counter --lock": Example("examples/explore", ["counter_server.py", "counter_client.py --lock"], 0),
    "cassettes/forecast": Example("examples/cassettes", ["forecast.py"], 0, replay="weather.jsonl"),
    "linux_probe": Example("tests/python/conformance", ["linux_probe.py"], 1),
}


@dataclass(frozen=True)
class Difference:
    name: str
    examples: tuple[str, ...]
    lines: str  # a regular expression: the transcript lines that differ
    reason: str


# The one table of what differs between the modes, and why (docs/conformance.md).
DIFFERENCES: list[Difference] = []


def _difference_lines(name: str) -> re.Pattern[bytes] | None:
    patterns = [d.lines for d in DIFFERENCES if name in d.examples]
    return re.compile(b"^(?:" + "|".join(patterns).encode() + b")\n", re.M) if patterns else None


_tls_files: dict[str, str] = {}


def _tls() -> dict[str, str]:
    """A certificate for localhost made on the host today. In-process OpenSSL checks it
    against the host's clock, under simrun against the virtual one: both runs start
    the virtual clock tomorrow, inside its validity (the transcript shows no date)."""
    if not _tls_files:
        directory = tempfile.mkdtemp(prefix="netsim-conformance-")
        files = {"cert": f"{directory}/cert.pem", "key": f"{directory}/key.pem"}
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "36500",
                        "-keyout", files["key"], "-out", files["cert"], "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
        _tls_files.update(files, epoch=(datetime.date.today() + datetime.timedelta(days=1)).isoformat())
    return _tls_files


def _commands(example: Example) -> tuple[list[str], str | None]:
    """The commands with the TLS files filled in, and the epoch both modes use."""
    if not any("{cert}" in command for command in example.commands):
        return example.commands, None
    files = _tls()
    return [command.format(**files) for command in example.commands], files["epoch"]


def in_process(example: Example) -> bytes:
    commands, epoch = _commands(example)
    scenario = REPO / example.directory / example.scenario if example.scenario else None
    cassette = {"replay": example.replay, "match": "http"} if example.replay else {}
    sim = netsim.Simulation(example.seed, scenario=scenario, epoch=epoch, **cassette)
    for command in commands:
        words = shlex.split(command)
        if words[:2] == ["python3", "-m"]:
            sim.spawn_module(None, words[2], words[3:])
        else:
            sim.spawn_script(None, words[0], words[1:])
    return sim.run().transcript_bytes


def under_simrun(example: Example) -> bytes:
    commands, epoch = _commands(example)
    options = ["--seed", str(example.seed)]
    options += ["--scenario", example.scenario] if example.scenario else []
    options += ["--epoch", epoch] if epoch else []
    options += ["--replay", example.replay, "--match", "http"] if example.replay else []
    run = subprocess.run([sys.executable, "-m", "netsim.simrun", *options, *commands],
                         cwd=REPO / example.directory, capture_output=True, timeout=DEADLINE)
    assert run.stderr == b"", run.stderr.decode(errors="replace")
    return run.stdout


_runs: dict[str, tuple[bytes, bytes]] = {}


def transcripts(name: str, monkeypatch) -> tuple[bytes, bytes]:
    """(in-process, simrun) transcripts of an example, once each mode gave the same
    bytes on each of its RUNS runs."""
    if name not in _runs:
        example = EXAMPLES[name]
        monkeypatch.chdir(REPO / example.directory)
        outs = []
        for run in (in_process, under_simrun):
            first = run(example)
            for i in range(1, RUNS):
                assert run(example) == first, f"{name}: {run.__name__} run {i + 1} differs from run 1"
            outs.append(first)
        _runs[name] = (outs[0], outs[1])
    return _runs[name]


def _runnable(name: str) -> bool:
    return not any("{cert}" in command for command in EXAMPLES[name].commands) or shutil.which("openssl") is not None


@pytest.mark.parametrize("name", EXAMPLES)
def test_both_modes_print_the_same_transcript(name, monkeypatch):
    if not _runnable(name):
        pytest.skip("the TLS example needs the openssl command")
    inside, simrun = transcripts(name, monkeypatch)
    differences = _difference_lines(name)
    if differences is not None:
        inside, simrun = differences.sub(b"", inside), differences.sub(b"", simrun)
    if inside != simrun:
        diff = difflib.diff_bytes(difflib.unified_diff, inside.splitlines(keepends=True),
                                  simrun.splitlines(keepends=True), b"in-process", b"simrun")
        pytest.fail(f"{name}: the modes differ beyond DIFFERENCES:\n"
                    + b"".join(diff).decode("utf-8", "backslashreplace"))


def test_every_declared_difference_shows(monkeypatch):
    # A loop, not a parametrisation: with no difference declared it passes, where an
    # empty parameter set would count as a skipped test.
    for difference in DIFFERENCES:
        pattern = re.compile(b"^(?:" + difference.lines.encode() + b")\n", re.M)
        for name in difference.examples:
            inside, simrun = transcripts(name, monkeypatch)
            assert pattern.findall(inside) != pattern.findall(simrun), \
                f"{difference.name!r} no longer differs in {name}: take it out of DIFFERENCES and the docs"


def test_the_docs_list_every_difference():
    text = (REPO / "docs" / "conformance.md").read_text()
    for difference in DIFFERENCES:
        assert f"| {difference.name} |" in text, difference.name


def test_every_example_pair_is_covered():
    """A new example directory with Python programs must be added here."""
    covered = {Path(example.directory).name for example in EXAMPLES.values()}
    for directory in (REPO / "examples").iterdir():
        if any(directory.glob("*.py")):
            assert directory.name in covered, f"examples/{directory.name} is not run by this suite"
