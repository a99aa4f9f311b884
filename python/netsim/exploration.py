"""Schedule exploration: the same programs under many schedules, and the distinct outcomes.

A race shows up only under some interleavings. Under the ``random`` policy the
scheduler draws its choice at every scheduling point from the *schedule seed*, so
each schedule seed is one interleaving, while ``seed`` keeps everything else (ports,
random bytes) as it is. Running many schedule seeds and grouping their transcripts
shows the outcomes the programs have in that sample, each with the exact command
line that reproduces it::

    >>> import netsim
    >>> found = netsim.explore(["counter_server.py", "counter_client.py"], seeds=200)  # doctest: +SKIP
    >>> print(found)                                                                    # doctest: +SKIP

``simrun --explore N`` is the command line of :func:`explore`; ``simrun --verify``
(:func:`verify`) runs one seed several times and fails on the first difference.
Each run is independent, so the table depends only on the seeds, never on how many
processes ran them or in which order they finished. ``python -m netsim.exploration
SHARD.jsonl...`` prints the table of sweeps sharded with ``--seeds A-B --format json``.
With ``shrink=True`` (``--shrink``) each outcome's schedule is shrunk to the few
decisions it needs and the racing pair named (netsim._shrink).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import difflib
import json
import multiprocessing
import os
import re
import shlex
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from netsim import _policy, _shrink, _verify, simrun

#: The scheduling policies, as ``--policy`` and ``policy=`` name them.
POLICIES = _policy.POLICIES
#: The policy :func:`explore` uses unless told otherwise: each schedule seed, an interleaving.
EXPLORING_POLICY = "random"
# A sweep's runs get this wall-clock watchdog unless given one: a run that hangs
# becomes an outcome of its own (its problem says so) instead of holding the sweep.
DEFAULT_TIMEOUT = 60.0
# The diff printed under an outcome: enough to see what changed, short enough for a table.
_DIFF_LINES = 12


@dataclass(frozen=True)
class SeedRun:
    """One schedule seed's run, as a JSON-lines record has it."""

    schedule_seed: int  #: what the sweep varies
    seed: int  #: ports and randomness: the same for the whole sweep
    policy: str
    transcript_bytes: bytes
    #: (name, status as a shell reports it, stopped by simrun at the end) in command order
    statuses: tuple[tuple[str, int, bool], ...]
    problem: str  #: a deadlock report, the watchdog's message; "" when none
    outcome: str  #: what the run is grouped by (see ``outcome=``)
    command: str  #: the shell command line that reproduces this run

    @property
    def transcript(self) -> str:
        return self.transcript_bytes.decode("utf-8", "backslashreplace")

    def to_json(self) -> str:
        """One JSON line. Transcript bytes that are not UTF-8 are kept as surrogate
        escapes, so :meth:`from_json` gives back the same bytes."""
        return json.dumps(self.record())

    def record(self) -> dict[str, Any]:
        return {
            "schedule_seed": self.schedule_seed, "seed": self.seed, "policy": self.policy,
            "transcript": self.transcript_bytes.decode("utf-8", "surrogateescape"),
            "exit_statuses": [{"name": n, "status": s, "stopped": stopped}
                              for n, s, stopped in self.statuses],
            "problem": self.problem, "outcome": self.outcome, "command": self.command}

    @classmethod
    def from_json(cls, line: str) -> SeedRun:
        return cls.from_record(json.loads(line))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SeedRun:
        return cls(schedule_seed=record["schedule_seed"], seed=record["seed"], policy=record["policy"],
                   transcript_bytes=record["transcript"].encode("utf-8", "surrogateescape"),
                   statuses=tuple((s["name"], s["status"], s["stopped"])
                                  for s in record["exit_statuses"]),
                   problem=record["problem"], outcome=record["outcome"], command=record["command"])


@dataclass(frozen=True)
class Outcome:
    """The runs that had the same outcome, shown by the lowest schedule seed's."""

    runs: tuple[SeedRun, ...]  #: in schedule seed order
    #: the diff of this outcome's transcript against the most common one's ("-"
    #: theirs, "+" this one's, " " context); empty for the most common outcome itself
    diff: tuple[str, ...]
    #: with ``shrink=True``: its schedule shrunk and the racing pair (None when the
    #: run met the watchdog or could not be replayed, or without shrink)
    shrunk: _shrink.Shrunk | None = None

    @property
    def seeds(self) -> list[int]:
        """The schedule seeds that gave this outcome."""
        return [run.schedule_seed for run in self.runs]

    @property
    def count(self) -> int:
        return len(self.runs)

    @property
    def first(self) -> SeedRun:
        return self.runs[0]

    @property
    def command(self) -> str:
        """The command line that reproduces this outcome: its lowest schedule seed's."""
        return self.first.command

    @property
    def transcript(self) -> str:
        return self.first.transcript

    @property
    def exit_statuses(self) -> list[str]:
        """Every combination of exit statuses seen, as "name status, ..."."""
        return sorted({_statuses_text(run.statuses) for run in self.runs})


@dataclass(frozen=True)
class Exploration:
    """What :func:`explore` found. ``str()`` is the table simrun prints."""

    outcomes: list[Outcome]  #: most common first, then by lowest schedule seed
    seeds: list[int]  #: the schedule seeds run, in order
    policy: str
    #: the lowest schedule seed whose transcript matched ``stop_on``; None when none did
    stopped_at: int | None = None
    shrunk: bool = False  #: whether the outcomes were shrunk (``shrink=True``)

    def __str__(self) -> str:
        return format_table(self)


class ExploreFailed(AssertionError):
    """Raised by :func:`assert_one_outcome` (and the pytest helper): the message
    names the seeds and the lines that reproduce each outcome."""


def explore(commands: Sequence[str | Sequence[str]], seeds: int | range | Iterable[int] = 200,
            *, seed: int = 0, policy: str = EXPLORING_POLICY, outcome: str = "transcript",
            stop_on: str | None = None, jobs: int | None = None,
            timeout: float | None = None, names: Mapping[str, str] | None = None,
            stdin: Mapping[str, bytes] | None = None,
            on_run: Callable[[SeedRun, int], None] | None = None,
            shrink: bool = False, scenario: str | os.PathLike[str] | None = None) -> Exploration:
    """Runs the commands (as :func:`netsim.run_commands` does) once per schedule
    seed under ``policy``, all with ``seed``, and groups the runs by outcome.
    ``seeds``: the schedule seeds, or a count N for 0 to N-1. ``outcome``:
    ``"transcript"`` (the bytes printed), ``"exit"`` (the exit statuses), or a
    regular expression: its matches in the transcript. ``stop_on``: a regular
    expression; the sweep ends at the lowest schedule seed whose transcript matches
    it. ``jobs``: parallel processes (default: the CPUs). ``timeout``: each run's
    wall-clock watchdog in seconds (default DEFAULT_TIMEOUT). ``on_run(run, done)``
    is called as each run ends, in completion order. ``shrink``: for each outcome,
    find the fewest deviations from run-until-block that give it and the racing
    pair (``Outcome.shrunk``), the shrinking's runs on the ``jobs`` processes too.
    ``scenario``: a scenario file
    (``simrun --scenario``): each schedule seed also draws the network's jitter,
    loss and probable faults.

    Raises UsageError (a ValueError) for bad input."""
    seed_list = _seed_list(seeds)
    _check_seed("seed", seed)
    planned = simrun.plan(commands, names)
    inputs = simrun._check_inputs(planned, dict(stdin or {}))
    sweep = _Sweep(planned, inputs, seed, policy, outcome, stop_on, timeout,
                   reproduce_options(names=names, timeout=timeout)
                   + (["--scenario", os.fspath(scenario)] if scenario is not None else []),
                   [c if isinstance(c, str) else shlex.join(c) for c in commands],
                   _scenario_data(scenario, planned))
    with sweep.workers(_jobs(jobs)) as workers:
        found = sweep.run(seed_list, workers, on_run)
        return sweep.shrink_all(found, workers) if shrink else found


def verify(commands: Sequence[str | Sequence[str]], seed: int = 0, runs: int = 2, *,
           policy: str = "run-until-block", schedule_seed: int | None = None,
           timeout: float | None = None,
           names: Mapping[str, str] | None = None,
           stdin: Mapping[str, bytes] | None = None,
           scenario: str | os.PathLike[str] | None = None) -> str | None:
    """Runs the commands ``runs`` times with the same seeds and compares transcripts
    and traces. Returns None when every run was the same, else a report of the first
    difference (a diff, where the runs diverged, the likely source)."""
    planned = simrun.plan(commands, names)
    inputs = simrun._check_inputs(planned, dict(stdin or {}))
    _check_policy(policy)
    _check_seed("seed", seed)
    if schedule_seed is not None:
        _check_seed("schedule_seed", schedule_seed)
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 2:
        raise simrun.UsageError(f"runs takes a whole number of runs, 2 or more, not {runs!r}")
    return _verify.first_difference(planned, inputs, seed, policy, schedule_seed, timeout, runs,
                                    _scenario_data(scenario, planned))


def _scenario_data(path: str | os.PathLike[str] | None, planned: list[tuple[str, list[str]]]) -> dict | None:
    if path is None:
        return None
    from netsim import scenario as _scenario

    try:
        loaded = _scenario.load(path)
        loaded.check_programs([name for name, _ in planned])
    except ValueError as e:
        raise simrun.UsageError(str(e)) from None
    return loaded.data


def reproduce_options(names: Mapping[str, str] | None = None, timeout: float | None = None,
                      stdin_files: Mapping[str, str] | None = None) -> list[str]:
    """The options of a reproduction line besides the seeds and --policy."""
    words: list[str] = []
    for old, new in (names or {}).items():
        words += ["--name", f"{old}={new}"]
    for name, path in (stdin_files or {}).items():
        words += ["--stdin", f"{name}={path}"]
    if timeout is not None:
        words += ["--timeout", f"{timeout:g}"]
    return words


def assert_one_outcome(commands: Sequence[str | Sequence[str]], seeds: int | range | Iterable[int] = 200,
                       *, invariant: str | Callable[[SeedRun], bool] | None = None,
                       **options: object) -> Exploration:
    """Explores the seeds and raises ExploreFailed unless every run had the same
    outcome or, with ``invariant``, unless every run satisfies it (a regular
    expression its transcript must match, or a predicate of the SeedRun). The
    message names each failing outcome's seeds and reproduction line. Returns the
    Exploration."""
    found = explore(commands, seeds, **options)  # type: ignore[arg-type]
    if invariant is None:
        if len(found.outcomes) > 1:
            raise ExploreFailed(f"{len(found.outcomes)} outcomes, one expected\n{found}")
        return found
    holds = ((lambda run: re.search(invariant, run.transcript) is not None)
             if isinstance(invariant, str) else invariant)
    broken = [o for o in found.outcomes if not all(holds(run) for run in o.runs)]
    if broken:
        failed = sum(not holds(run) for o in broken for run in o.runs)
        lines = [f"the invariant failed for {failed} of {len(found.seeds)} schedule seeds"]
        for o in broken:
            failing = [run for run in o.runs if not holds(run)]
            lines.append(f"  schedule seed {failing[0].schedule_seed} (and {len(failing) - 1} more): "
                         f"{failing[0].command}")
            lines += [f"    {line}" for line in failing[0].transcript.splitlines()[-_DIFF_LINES:]]
        raise ExploreFailed("\n".join(lines))
    return found


# --- the sweep ---

class _Sweep:
    """The fixed part of a sweep: what every schedule seed's run needs."""

    def __init__(self, planned: list[tuple[str, list[str]]], inputs: dict[str, bytes], seed: int,
                 policy: str,
                 outcome: str, stop_on: str | None, timeout: float | None,
                 options: list[str], shown: list[str], scenario: dict | None = None,
                 cassette: Any = None) -> None:
        _check_policy(policy)
        self.key = _outcome_key(outcome)
        self.stop_on = _regex("--stop-on", stop_on) if stop_on is not None else None
        self.task = _Task(planned, inputs, seed, policy, timeout or DEFAULT_TIMEOUT, simrun.shim_path(),
                          [f"{k}={v}" for k, v in os.environ.items()], scenario, cassette)
        self.seed = seed
        self.policy = policy
        self.options = options
        self.shown = shown

    def record(self, schedule_seed: int, report: simrun.RunReport) -> SeedRun:
        if report.interrupted:
            raise KeyboardInterrupt
        statuses = tuple((p.name, p.status, p.stopped) for p in report.processes)
        # A departure from a replayed cassette is the run's problem too.
        problem = "\n".join(text for text in (report.problem, report.cassette) if text)
        return SeedRun(schedule_seed, self.seed, self.policy, report.transcript_bytes, statuses,
                       problem, self.key(report.transcript_bytes, statuses),
                       self.command(self.policy, schedule_seed))

    def command(self, policy: str, schedule_seed: int | None = None) -> str:
        seeds = ["--seed", str(self.seed)]
        if schedule_seed is not None:
            seeds += ["--schedule-seed", str(schedule_seed)]
        return shlex.join(["simrun", *seeds, "--policy", policy, *self.options, *self.shown])

    def workers(self, jobs: int) -> contextlib.AbstractContextManager[_Workers]:
        return _workers(self.task, jobs)

    def shrink_all(self, found: Exploration, workers: _Workers) -> Exploration:
        """Each outcome's first seed run again (for the deviations its trace records),
        then shrunk (_shrink), one outcome after another, each shrinking's candidate
        schedules run side by side on the workers."""
        shrinkable = [o for o in found.outcomes if not o.first.problem.startswith("--timeout")]
        # (An outcome of the watchdog is not shrunk: each try could wait for it again.)
        seed_runs = dict(zip((o.first.schedule_seed for o in shrinkable),
                             workers.traces([(self.policy, o.first.schedule_seed) for o in shrinkable])))
        return replace(found, shrunk=True, outcomes=[
            replace(o, shrunk=self.shrink(o, seed_runs[o.first.schedule_seed][2], workers))
            if o.first.schedule_seed in seed_runs else o for o in found.outcomes])

    def shrink(self, outcome: Outcome, seed_trace: list[str], workers: _Workers) -> _shrink.Shrunk | None:
        # With a scenario the schedule seed draws the network too: the replays keep it.
        schedule_seed = outcome.first.schedule_seed if self.task.scenario is not None else None

        def gives(run: _Replay) -> bool:
            return self.key(run[0], run[1]) == outcome.first.outcome

        def first(candidates: Sequence[list[_shrink.Deviation]]) -> tuple[int, list[str]] | None:
            runs = workers.traces([(_shrink.policy_of(c), schedule_seed) for c in candidates], until=gives)
            return (len(runs) - 1, runs[-1][2]) if runs and gives(runs[-1]) else None

        found = _shrink.deviations_of(seed_trace)
        shrunk = _shrink.shrink(found, first)
        if shrunk is None:
            return None
        kept, trace, runs, minimal = shrunk
        policy = _shrink.policy_of(kept)
        return _shrink.Shrunk(policy, len(kept), len(found), self.command(policy, schedule_seed),
                              _shrink.race(trace), runs, minimal)

    def matches(self, run: SeedRun) -> bool:
        return self.stop_on is not None and self.stop_on.search(run.transcript) is not None

    def run(self, seeds: list[int], workers: _Workers,
            on_run: Callable[[SeedRun, int], None] | None) -> Exploration:
        done: dict[int, SeedRun] = {}
        stop: int | None = None
        for seed, report in _runs(workers, seeds, lambda: stop):
            run = done[seed] = self.record(seed, report)
            if self.matches(run) and (stop is None or seed < stop):
                stop = seed
            if on_run:
                on_run(run, len(done))
        # With --stop-on, the sweep is every schedule seed up to the lowest match,
        # whatever else finished meanwhile: the same table for any number of jobs.
        kept = [s for s in seeds if stop is None or s <= stop]
        missing = [s for s in kept if s not in done]
        if missing:
            raise RuntimeError(f"seeds {missing[:5]} did not run")
        return group([done[s] for s in kept], self.policy, stop)


@dataclass(frozen=True)
class _Task:
    """What a worker needs to run one schedule seed (pickled once per worker)."""

    planned: list[tuple[str, list[str]]]
    inputs: dict[str, bytes]
    seed: int
    policy: str
    timeout: float | None
    shim: str
    env: list[str]
    scenario: dict | None  #: the network's data (netsim.scenario), None for a perfect wire
    cassette: Any = None  #: the cassette replayed (netsim._cassette.Plan), None without one

    def __call__(self, schedule_seed: int) -> simrun.RunReport:
        return self.run(self.policy, schedule_seed)

    def run(self, policy: str, schedule_seed: int | None = None) -> simrun.RunReport:
        return simrun._run(self.planned, self.seed, self.timeout, "", self.shim, self.inputs,
                           policy=policy, schedule_seed=schedule_seed, env=self.env,
                           scenario=self.scenario, cassette=self.cassette)


# A replayed schedule's run as a worker sends it back: its transcript, its exit
# statuses (as SeedRun has them) and its trace lines.
_Replay = tuple[bytes, tuple[tuple[str, int, bool], ...], list[str]]


@dataclass(frozen=True)
class _Workers:
    """Where a sweep's runs go: this process (one job) or ``jobs`` worker processes."""

    task: _Task
    jobs: int
    pool: concurrent.futures.ProcessPoolExecutor | None

    def traces(self, runs: Sequence[tuple[str, int | None]],
               until: Callable[[_Replay], bool] | None = None) -> list[_Replay]:
        """The runs (policy, schedule seed) in order, up to the first for which
        ``until`` holds, the last of the list then; ``jobs`` of them at a time, so a
        few may run past that one, their results dropped."""
        done: list[_Replay] = []
        if self.pool is None:
            for policy, schedule_seed in runs:
                done.append(_replay(self.task, policy, schedule_seed))
                if until is not None and until(done[-1]):
                    break
            return done
        queue = iter(runs)
        pending: collections.deque[concurrent.futures.Future] = collections.deque()
        try:
            while True:
                while len(pending) < self.jobs and (run := next(queue, None)) is not None:
                    pending.append(self.pool.submit(_replay_in_worker, *run))
                if not pending:
                    return done
                done.append(pending.popleft().result())
                if until is not None and until(done[-1]):
                    return done
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def _workers(task: _Task, jobs: int) -> Iterator[_Workers]:
    if jobs == 1:
        yield _Workers(task, 1, None)
        return
    context = multiprocessing.get_context("forkserver")
    started = context.Value("i", 0)
    with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_worker, initargs=(task, started)) as pool:
        yield _Workers(task, jobs, pool)


def _runs(workers: _Workers, seeds: list[int],
          stopped_at: Callable[[], int | None]) -> Iterable[tuple[int, simrun.RunReport]]:
    """Each schedule seed's report, in completion order, until the seeds are done
    or one matched (stopped_at() set): seeds above it are not started."""
    if workers.pool is None:
        for seed in seeds:
            stop = stopped_at()
            if stop is not None and seed > stop:
                return
            yield seed, workers.task(seed)
        return
    pending: dict[concurrent.futures.Future, int] = {}
    queue = iter(seeds)
    try:
        while True:
            stop = stopped_at()
            # A few runs queued per worker keep every CPU busy without starting
            # many runs that --stop-on would make useless.
            while len(pending) < 2 * workers.jobs:
                seed = next(queue, None)
                if seed is None or (stop is not None and seed > stop):
                    break
                pending[workers.pool.submit(_run_in_worker, seed)] = seed
            if not pending:
                return
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(finished, key=pending.__getitem__):
                seed = pending.pop(future)
                yield seed, future.result()
    finally:
        for future in pending:
            future.cancel()


_worker_task: _Task | None = None


def _init_worker(task: _Task, started: Any) -> None:
    # Each worker on a CPU of its own, in turn: a run then hands turns over on that
    # CPU alone instead of spreading its children over the CPUs the other workers'
    # runs use too (twice the seeds per second, docs/benchmarks.md). Where a run goes
    # changes nothing in it.
    global _worker_task
    _worker_task = task
    with started.get_lock():
        number = started.value
        started.value += 1
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(0, {cpus[number % len(cpus)]})


def _run_in_worker(seed: int) -> simrun.RunReport:
    assert _worker_task is not None
    return _worker_task(seed)


def _replay_in_worker(policy: str, schedule_seed: int | None) -> _Replay:
    assert _worker_task is not None
    return _replay(_worker_task, policy, schedule_seed)


def _replay(task: _Task, policy: str, schedule_seed: int | None) -> _Replay:
    report = task.run(policy, schedule_seed)
    return (report.transcript_bytes, tuple((p.name, p.status, p.stopped) for p in report.processes),
            report._trace.jsonl().splitlines())


# --- grouping and the table ---

def group(runs: Sequence[SeedRun], policy: str, stopped_at: int | None = None) -> Exploration:
    """The outcomes of the runs: most common first, ties by lowest schedule seed,
    each outcome's runs in seed order. The result depends only on the set of runs."""
    by_key: dict[str, list[SeedRun]] = {}
    for run in sorted(runs, key=lambda r: r.schedule_seed):
        by_key.setdefault(run.outcome, []).append(run)
    ordered = sorted(by_key.values(), key=lambda rs: (-len(rs), rs[0].schedule_seed))
    common = ordered[0][0].transcript_bytes.splitlines(keepends=False) if ordered else []
    outcomes = [Outcome(tuple(rs), () if i == 0 else _changed_lines(common, rs[0].transcript_bytes))
                for i, rs in enumerate(ordered)]
    return Exploration(outcomes, sorted(run.schedule_seed for run in runs), policy, stopped_at)


def _changed_lines(common: list[bytes], transcript: bytes) -> tuple[str, ...]:
    """The unified diff's hunks with one line of context, so that a line that only
    moved shows where it went; "..." between hunks."""
    lines: list[str] = []
    for line in difflib.diff_bytes(difflib.unified_diff, common, transcript.splitlines(),
                                   lineterm=b"", n=1):
        if line.startswith((b"---", b"+++")):
            continue
        if line.startswith(b"@@"):
            if lines:
                lines.append("...")
            continue
        lines.append(line.decode("utf-8", "backslashreplace"))
    if len(lines) > _DIFF_LINES:
        lines = lines[:_DIFF_LINES] + [f"... ({len(lines) - _DIFF_LINES} more diff lines)"]
    return tuple(lines)


def format_table(found: Exploration) -> str:
    seeds = found.seeds
    span = _span(seeds)
    plural = "s" if len(found.outcomes) != 1 else ""
    lines = [f"{len(seeds)} schedule seeds ({span}), policy {found.policy}: "
             f"{len(found.outcomes)} outcome{plural}"]
    if found.stopped_at is not None:
        lines[0] += (f"; stopped at schedule seed {found.stopped_at}, the first whose transcript "
                     "matched --stop-on")
    width = len(str(max((o.count for o in found.outcomes), default=0)))
    for number, o in enumerate(found.outcomes, 1):
        share = 100 * o.count / len(seeds)
        lines.append("")
        lines.append(f"#{number} {o.count:>{width}} seed{'s' if o.count != 1 else ' '} ({share:.1f}%), "
                     f"first {o.first.schedule_seed}, exit statuses: {'; '.join(o.exit_statuses)}")
        if o.first.problem:
            lines.append(f"   problem: {o.first.problem.strip().splitlines()[0]}")
        lines.append(f"   reproduce: {o.command}")
        lines += _shrunk_lines(o.shrunk) if found.shrunk else []
        if o.diff:
            lines.append("   against #1:")
            lines += [f"     {line}" for line in o.diff]
        elif number > 1:
            lines.append("   same transcript as #1 (the outcomes differ in what --outcome selects)")
    return "\n".join(lines) + "\n"


def _shrunk_lines(shrunk: _shrink.Shrunk | None) -> list[str]:
    if shrunk is None:
        return ["   shrunk: not shrunk (the run met the watchdog, did not replay under its recorded schedule, "
                "or its shard was not shrunk)"]
    if not shrunk.deviations:
        return [f"   shrunk: run-until-block gives it, no deviation needed: {shrunk.command}"]
    kept = (f"{shrunk.deviations} of the run's {shrunk.found_in} deviations from run-until-block"
            + ("" if shrunk.minimal else f" (the {shrunk.runs} runs' budget ran out: may not be the fewest)"))
    return [f"   shrunk: {kept}: {shrunk.command}", f"   race: {shrunk.race}"]


def _span(seeds: list[int]) -> str:
    if not seeds:
        return "none"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"{seeds[0]}"
    return f"{seeds[0]}..{seeds[-1]}, not contiguous"


def _statuses_text(statuses: Iterable[tuple[str, int, bool]]) -> str:
    return ", ".join(f"{name} {status}{' (stopped)' if stopped else ''}"
                     for name, status, stopped in statuses)


def _outcome_key(outcome: str) -> Callable[[bytes, tuple[tuple[str, int, bool], ...]], str]:
    if outcome == "transcript":
        return lambda transcript, _: transcript.decode("utf-8", "surrogateescape")
    if outcome == "exit":
        return lambda _, statuses: _statuses_text(statuses)
    pattern = _regex("--outcome", outcome)

    def matches(transcript: bytes, _: object) -> str:
        found = [m.group(0) for m in pattern.finditer(transcript.decode("utf-8", "backslashreplace"))]
        return "\n".join(found) if found else "(no match)"

    return matches


def _regex(option: str, text: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.MULTILINE)
    except re.error as e:
        raise simrun.UsageError(f"{option} {text!r}: not a regular expression ({e})") from None


def _check_policy(policy: str) -> None:
    if (problem := _policy.problem(policy)) is not None:
        raise simrun.UsageError(problem)


def _jobs(jobs: int | None) -> int:
    if jobs is None:
        return len(os.sched_getaffinity(0))
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise simrun.UsageError(f"--jobs takes a whole number of processes, 1 or more, not {jobs!r}")
    return jobs


def _seed_list(seeds: int | range | Iterable[int]) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise simrun.UsageError(f"seeds: give a count of 1 or more, not {seeds}")
        return list(range(seeds))
    listed = list(seeds)  # type: ignore[arg-type]
    if not listed:
        raise simrun.UsageError("seeds: give a count or at least one schedule seed")
    for value in listed:
        _check_seed("a schedule seed", value)
    if len(set(listed)) != len(listed):
        raise simrun.UsageError("seeds: a schedule seed is given twice; give each once")
    return listed


def _check_seed(what: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise simrun.UsageError(f"{what} must be a non-negative integer below 2**64, not {value!r}")


# --- merging shards ---

def records(found: Exploration) -> list[str]:
    """The JSON lines of ``--format json``: one seed record per schedule seed, in
    seed order. Shrunk, each outcome's first run's record carries the outcome's
    shrunk schedule and race (``"shrunk"``, null when it could not be shrunk), so
    that :func:`merge` gives back the table of one sweep of all the shards' seeds."""
    shrunk = {o.first.schedule_seed: o.shrunk for o in found.outcomes} if found.shrunk else {}
    lines = []
    for run in sorted((run for o in found.outcomes for run in o.runs), key=lambda r: r.schedule_seed):
        record = run.record()
        if run.schedule_seed in shrunk:
            record["shrunk"] = _shrink.to_record(shrunk[run.schedule_seed])
        lines.append(json.dumps(record))
    return lines


def merge(lines: Iterable[str]) -> Exploration:
    """The table of JSON-lines seed records (``simrun --explore --format json``)
    from any number of shards, in any order. A schedule seed given twice counts once.
    Where the shards were shrunk, an outcome's shrunk schedule is the one its lowest
    schedule seed's record carries: the one a single sweep of all the seeds finds.
    Raises ValueError naming the first line that is not a record."""
    runs: dict[int, SeedRun] = {}
    shrunk: dict[int, _shrink.Shrunk | None] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            run = SeedRun.from_record(record)
            if "shrunk" in record:
                shrunk[run.schedule_seed] = _shrink.from_record(record["shrunk"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"line {number} is not a seed record of simrun --explore --format json "
                             f"({type(e).__name__}: {e})") from None
        runs[run.schedule_seed] = run
    if not runs:
        raise ValueError("no seed records: give the output of simrun --explore --format json")
    for field in ("seed", "policy"):
        values = sorted({getattr(run, field) for run in runs.values()})
        if len(values) > 1:
            raise ValueError(f"the records have different {field}s ({', '.join(map(str, values))}): "
                             "merge the shards of one sweep")
    found = group(list(runs.values()), next(iter(runs.values())).policy)
    if not shrunk:
        return found
    return replace(found, shrunk=True, outcomes=[replace(o, shrunk=shrunk.get(o.first.schedule_seed))
                                                 for o in found.outcomes])


def _merge_main(paths: list[str]) -> int:
    """``python -m netsim.exploration SHARD.jsonl...`` ('-': stdin): one table."""
    if not paths or paths[0] in ("-h", "--help"):
        print("usage: python -m netsim.exploration SHARD.jsonl... ('-' for stdin)\n"
              "Prints the outcome table of the seed records that simrun --explore --format json "
              "printed, from any number of shards.", file=sys.stderr if not paths else sys.stdout)
        return 2 if not paths else 0
    lines: list[str] = []
    for path in paths:
        try:
            if path == "-":
                lines += sys.stdin.read().splitlines()
            else:
                with open(path, encoding="utf-8") as f:
                    lines += f.read().splitlines()
        except OSError as e:
            print(f"netsim.exploration: cannot read {path}: {e.strerror}", file=sys.stderr)
            return 2
    try:
        found = merge(lines)
    except ValueError as e:
        print(f"netsim.exploration: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(str(found))
    return 0 if len(found.outcomes) == 1 else 1


if __name__ == "__main__":
    sys.exit(_merge_main(sys.argv[1:]))
