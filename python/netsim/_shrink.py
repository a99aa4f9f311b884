"""Shrinking an outcome of a sweep: the fewest deviations from run-until-block that
still give it, and the racing pair of operations they reorder.

A run under the random or the PCT policy records, in its trace, every scheduling
decision that differs from run-until-block's (``schedule`` events: at scheduling
point P, task T ran where another would have). The ``schedule:P:T,...`` policy
replays such a list, so replaying all of a seed's deviations gives that seed's run
again. Shrinking then removes deviations for as long as the outcome stays, down to
a list from which no single deviation can be removed. Its last deviation is where
the race is decided: undone, the two tasks' next operations run in the other order
and the outcome changes.

A deviation names its point by number, so removing one shifts the meaning of every
later one: the later ones are what is cheap to drop. Shrinking therefore first cuts
the list to its shortest prefix that gives the outcome (a bisection: everything
after the deciding deviation goes), then runs delta debugging (Zeller's ddmin, as
Hermit's ``analyze --search``) over that prefix, removing chunks from the end first.
On the racy counter of examples/explore (schedule seed 1, 58 deviations) this finds
6 in 74 runs, where plain ddmin stopped at 13 when its 120 runs ran out.
After each run that keeps the outcome the list becomes the deviations that run's
trace records: a listed deviation whose task cannot run at its point, or would have
run anyway, is no decision and leaves no event.
"""

from __future__ import annotations

import dataclasses
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


def to_record(shrunk: Shrunk | None) -> dict[str, object] | None:
    """As a seed record of ``--format json`` carries it (null: could not be shrunk)."""
    return None if shrunk is None else dataclasses.asdict(shrunk)


def from_record(record: dict[str, object] | None) -> Shrunk | None:
    return None if record is None else Shrunk(**record)  # type: ignore[arg-type]


def policy_of(deviations: Sequence[Deviation]) -> str:
    return "schedule:" + ",".join(f"{point}:{task}" for point, task in deviations)


def deviations_of(trace_lines: Sequence[str]) -> list[Deviation]:
    """The deviations a run's trace records, in order."""
    return [(e["value"], e["task"]) for e in map(json.loads, trace_lines) if e["event"] == "schedule"]


# Runs candidate schedules in the order given (in parallel, if it likes) and returns
# the index of the first whose run had the outcome, with that run's trace lines;
# None when none had.
FirstGiving = Callable[[Sequence[list[Deviation]]], "tuple[int, list[str]] | None"]


def shrink(found: list[Deviation], first: FirstGiving,
           budget: int = DEFAULT_BUDGET) -> tuple[list[Deviation], list[str], int, bool] | None:
    """Shrinks ``found``, the deviations of a run that had the outcome. Returns (the
    deviations kept, their run's trace, runs spent, whether the list is 1-minimal),
    or None when even all of ``found`` does not give the outcome (the run cannot be
    replayed). The result and the runs counted depend only on which candidates give
    the outcome, never on how ``first`` runs them: a run that ``first`` started past
    the first that gave the outcome is not counted."""
    search = _Search(first, budget)
    hit = search.first_giving([[], found])
    if hit is None:
        return None
    kept, trace = hit
    if not kept:
        return [], trace, search.runs, True
    kept, trace = _shortest_prefix(search, deviations_of(trace), trace)
    chunks = 2
    while len(kept) >= 2 and not search.exhausted():
        chunks = min(chunks, len(kept))
        size = -(-len(kept) // chunks)
        parts = [kept[i:i + size] for i in range(0, len(kept), size)]
        # Removing a chunk (its complement) is what usually works, and removing a
        # later one shifts fewer of the points after it: the complements from the end
        # first. Of ddmin's chunks alone only the last is tried: the others lack the
        # deciding deviation the prefix ends with.
        complements = [[d for p in parts if p is not part for d in p] for part in reversed(parts)]
        candidates = complements + (parts[-1:] if len(parts) > 2 else [])
        hit = search.first_giving(candidates)
        if hit is not None:
            chunks = max(chunks - 1, 2) if hit[0] in complements else 2
            kept, trace = deviations_of(hit[1]), hit[1]
        elif chunks >= len(kept):
            return kept, trace, search.runs, not search.cut
        else:
            chunks = min(len(kept), 2 * chunks)
    return kept, trace, search.runs, len(kept) < 2


def _shortest_prefix(search: _Search, kept: list[Deviation], trace: list[str]) -> tuple[list[Deviation], list[str]]:
    """The shortest prefix of ``kept`` that gives the outcome, found by bisection
    between the empty one (which does not) and all of it (which does), and its trace."""
    short, long = 0, len(kept)
    while long - short > 1 and not search.exhausted():
        middle = (short + long) // 2
        hit = search.first_giving([kept[:middle]])
        if hit is None:
            short = middle
        else:
            long, trace = middle, hit[1]
    return deviations_of(trace), trace


class _Search:
    """The runs of one shrinking: each candidate schedule run once, within the budget."""

    def __init__(self, first: FirstGiving, budget: int) -> None:
        self.first, self.budget = first, budget
        self.failed: set[tuple[Deviation, ...]] = set()
        self.runs = 0
        self.cut = False  # whether the budget left candidates untried

    def exhausted(self) -> bool:
        return self.runs >= self.budget

    def first_giving(self, candidates: Sequence[list[Deviation]]) -> tuple[list[Deviation], list[str]] | None:
        """The first candidate, in order, that gives the outcome, and its run's trace;
        None when none does or the budget ends first. Only the candidates up to the
        one that gave it count as runs. (A candidate that gave the outcome before is
        never asked again: each one kept is a strict subset of the one before.)"""
        fresh: list[list[Deviation]] = []
        for candidate in candidates:
            if tuple(candidate) not in self.failed and candidate not in fresh:
                fresh.append(candidate)
        self.cut = self.cut or len(fresh) > self.budget - self.runs
        fresh = fresh[:max(self.budget - self.runs, 0)]
        hit = self.first(fresh) if fresh else None
        tried = fresh if hit is None else fresh[:hit[0] + 1]
        self.runs += len(tried)
        self.failed.update(tuple(c) for c in (tried if hit is None else tried[:-1]))
        return None if hit is None else (fresh[hit[0]], hit[1])


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
