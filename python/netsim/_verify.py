"""``simrun --verify``: the same seed, several runs, and the first difference.

netsim makes everything it simulates repeat; a program that still differs between
two runs with the same seed reads something netsim does not see. The event trace
tells where the runs parted: at a call (the program took another path) or only in
what it printed (same calls, different bytes).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from typing import Any

from netsim import simrun

# Printed around the first differing transcript line.
_CONTEXT = 3
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_OUTSIDE = ("something outside the simulation: a file or /proc entry the program reads "
            "(the real PID in /proc/self, uptime, state left by an earlier run), a clock read "
            "without a system call (rdtsc), or uninitialised memory")


def first_difference(planned: list[tuple[str, list[str]]], inputs: dict[str, bytes], seed: int,
                     policy: str, schedule_seed: int | None, timeout: float | None,
                     runs: int, scenario: dict | None = None, cassette: Any = None) -> str | None:
    """None when every run's transcript and trace equal the first run's, else the
    report of the first run that differs, or that departed from the replayed
    ``cassette`` (netsim._cassette.Plan)."""
    shim = simrun.shim_path()
    with tempfile.TemporaryDirectory(prefix="netsim-verify-") as scratch:
        first = None
        for number in range(1, runs + 1):
            trace_path = os.path.join(scratch, f"trace{number}.jsonl")
            report = simrun._run(planned, seed, timeout, trace_path, shim, inputs, policy=policy,
                                 schedule_seed=schedule_seed, scenario=scenario, cassette=cassette)
            if report.cassette:
                return f"run {number} of seed {seed} (policy {policy}) departed from the cassette\n{report.cassette}"
            with open(trace_path, "rb") as f:
                trace = f.read().splitlines()
            if first is None:
                first = (report.transcript_bytes, trace)
                continue
            found = _compare(first, (report.transcript_bytes, trace), number)
            if found:
                return f"run {number} of seed {seed} (policy {policy}) differs from run 1\n{found}"
    return None


def _compare(one: tuple[bytes, list[bytes]], other: tuple[bytes, list[bytes]], number: int) -> str:
    parts = []
    transcript_diff = _first_hunk(one[0], other[0], number)
    if transcript_diff:
        parts.append(transcript_diff)
    event = _first_event(one[1], other[1])
    if event is not None:
        parts.append(_describe_event(one[1], other[1], event, number))
    if not parts:
        return ""
    parts.append("likely source: " + _likely_source(one, other, event))
    return "\n".join(parts)


def _first_hunk(one: bytes, other: bytes, number: int) -> str:
    """The first hunk of the unified diff of the transcripts, with its line number."""
    a, b = one.splitlines(keepends=True), other.splitlines(keepends=True)
    lines: list[str] = []
    for line in difflib.diff_bytes(difflib.unified_diff, a, b, b"run 1", f"run {number}".encode(),
                                   n=_CONTEXT):
        text = line.decode("utf-8", "backslashreplace").rstrip("\n")
        if text.startswith("@@") and any(x.startswith("@@") for x in lines):
            break
        lines.append(text)
    if not lines:
        return ""
    where = next(i for i, (x, y) in enumerate(zip(a + [b""], b + [b""]), 1) if x != y)
    return f"first difference in the transcript, line {where}:\n" + "\n".join(lines)


def _first_event(one: list[bytes], other: list[bytes]) -> int | None:
    for i, (x, y) in enumerate(zip(one, other)):
        if x != y:
            return i
    return None if len(one) == len(other) else min(len(one), len(other))


def _describe_event(one: list[bytes], other: list[bytes], index: int, number: int) -> str:
    names = _names(one)
    shown = []
    for label, trace in (("run 1", one), (f"run {number}", other)):
        if index < len(trace):
            event = json.loads(trace[index])
            who = names.get(event.get("pid"), "the simulation")
            shown.append(f"  {label}: {who} (pid {event.get('pid', '-')}, task {event.get('task', '-')}) "
                         f"at {event['t'] / 1e9:.6f} s: {trace[index].decode('utf-8', 'backslashreplace')}")
        else:
            shown.append(f"  {label}: the trace ends here")
    return f"first difference in the trace, event {index + 1}:\n" + "\n".join(shown)


def _names(trace: list[bytes]) -> dict[int, str]:
    names = {}
    for line in trace:
        event = json.loads(line)
        if event["event"] == "spawn":
            names[event["pid"]] = event.get("text", "?")
    return names


def _likely_source(one: tuple[bytes, list[bytes]], other: tuple[bytes, list[bytes]],
                   event: int | None) -> str:
    if event is not None and event < min(len(one[1]), len(other[1])):
        a, b = json.loads(one[1][event]), json.loads(other[1][event])
        who = _names(one[1]).get(a.get("pid"), "a program")
        differing = f"{a.get('data', '')}\n{b.get('data', '')}"
        if a["event"] == b["event"] == "output" and _ADDRESS.search(differing):
            return (f"{who} made the same calls in both runs, then printed a different memory "
                    "address (an id(), a default repr, a pointer): addresses repeat only while the "
                    "program allocates the same way; print something other than the address")
        if a["event"] == b["event"] == "output":
            return f"{who} made the same calls in both runs, then printed different bytes: {_OUTSIDE}"
        return (f"{who} took a different path at this event, acting on {_OUTSIDE}")
    if event is None:
        return ("the calls were the same in both runs, so the difference is in what the runs "
                f"printed outside the traced calls: {_OUTSIDE}")
    return f"one run made more calls than the other: {_OUTSIDE}"
