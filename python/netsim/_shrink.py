"""Shrinking an outcome of a sweep: the fewest deviations from run-until-block that
still give it, and the racing pair of operations they reorder.

A run under the random policy records, in its trace, every scheduling decision that
differs from run-until-block's (``schedule`` events: at scheduling point P, task T ran
where another would have). The ``schedule:P:T,...`` policy replays such a list, so
replaying all of a seed's deviations gives that seed's run again; delta debugging
(Zeller's ddmin, as Hermit's ``analyze --search``) then removes deviations for as
long as the outcome stays, down to a list from which no single deviation can be
removed. Its last deviation is where the race is decided: undone, the two tasks'
next operations run in the other order and the outcome changes. (A listed deviation
whose task cannot run at its point is no decision and leaves no trace event.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

#: Runs one shrinking may spend on an outcome: past it, the smallest list found so far.
DEFAULT_BUDGET = 120

Deviation = tuple[int, int]  # (scheduling point, task that ran)


@dataclass(frozen=True)
class Shrunk:
    """An outcome's shrunk schedule and the race it comes down to."""

    policy: str  #: "schedule:P:T,..." (``--policy``), or "schedule:" when none is needed
    deviations: int  #: how many deviations from run-until-block it keeps
    found_in: int  #: deviations of the seed's own run, before shrinking
    command: str  #: the command line that reproduces the outcome with this schedule
    #: the racing pair, "at T s (scheduling point P): A's op ran before B's op";
    #: "" when run-until-block itself gives the outcome
    race: str
    runs: int  #: runs the shrinking took
    minimal: bool  #: False when the budget ran out before no deviation could go


def policy_of(deviations: Sequence[Deviation]) -> str:
    return "schedule:" + ",".join(f"{point}:{task}" for point, task in deviations)


def deviations_of(trace_lines: Sequence[str]) -> list[Deviation]:
    """The deviations a run's trace records, in order."""
    return [(e["value"], e["task"]) for e in map(json.loads, trace_lines) if e["event"] == "schedule"]


def shrink(found: list[Deviation], gives: Callable[[list[Deviation]], list[str] | None],
           budget: int = DEFAULT_BUDGET) -> tuple[list[Deviation], list[str], int, bool] | None:
    """ddmin over ``found``: ``gives(deviations)`` runs that schedule and returns its
    trace lines when the run had the outcome, else None. Returns (the deviations
    kept, their run's trace, runs spent, whether the list is 1-minimal), or None
    when even all of ``found`` does not give the outcome (the run cannot be replayed)."""
    tried: dict[tuple[Deviation, ...], list[str] | None] = {}

    def test(candidate: list[Deviation]) -> list[str] | None:
        key = tuple(candidate)
        if key not in tried:
            tried[key] = gives(candidate)
        return tried[key]

    if (trace := test([])) is not None:
        return [], trace, len(tried), True
    if (trace := test(found)) is None:
        return None
    kept, chunks = list(found), 2
    while len(kept) >= 2 and len(tried) < budget:
        size = -(-len(kept) // chunks)
        parts = [kept[i:i + size] for i in range(0, len(kept), size)]
        candidates = parts + ([[d for p in parts if p is not part for d in p] for part in parts]
                              if len(parts) > 2 else [])
        for number, candidate in enumerate(candidates):
            if len(tried) >= budget:
                break
            if (result := test(candidate)) is not None:
                kept, trace = candidate, result
                chunks = 2 if number < len(parts) else max(chunks - 1, 2)
                break
        else:
            if chunks >= len(kept):
                return kept, trace, len(tried), True
            chunks = min(len(kept), 2 * chunks)
    return kept, trace, len(tried), len(kept) < 2


def race(trace_lines: Sequence[str]) -> str:
    """The two operations the run's last deviation put in this order: the first
    traced call of the task that ran, then the first of the task passed over; ""
    when the run has no deviation."""
    events = [json.loads(line) for line in trace_lines]
    names = {e["pid"]: e.get("text", "?") for e in events if e["event"] == "spawn"}
    decisions = [i for i, e in enumerate(events) if e["event"] == "schedule"]
    if not decisions:
        return ""
    at = decisions[-1]
    decision = events[at]
    ran, passed = decision["task"], decision["passed"]

    def operation(task: int) -> str:
        for e in events[at + 1:]:
            if e.get("task") == task and e["event"] != "schedule":
                who = f"{names.get(e.get('pid'), '?')} task {task}"
                fd = f" on fd {e['fd']}" if "fd" in e else ""
                return f"{who} {e['event']}{fd} (at {e['t'] / 1e9:.6f} s)"
        return f"task {task} (no traced call after it)"

    return (f"at {decision['t'] / 1e9:.6f} s, scheduling point {decision['value']}: "
            f"{operation(ran)} ran before {operation(passed)}")
