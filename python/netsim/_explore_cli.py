"""simrun's --policy, --explore, --seeds, --verify and their companions: the options,
and what simrun does with them (see netsim.exploration for the sweep itself). Every
simrun imports this module to parse its command line; the sweep's own modules
(multiprocessing and concurrent.futures among them) only a sweep does."""

from __future__ import annotations

import argparse
import re
import sys
import time

from netsim import _policy, simrun

# Every simrun imports this module: typing only for the annotations.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from netsim import exploration

HELP = """\
schedules:
  --policy run-until-block (the default for one run) lets a thread run until it
  blocks; --policy random draws, at every scheduling point (each call a program
  makes, each block), which ready thread runs next; --policy pct gives each thread
  a seeded priority, runs the highest ready one, and at d-1 seeded points drops the
  running thread below all others (pct:D sets the depth d, default 3). Their draws
  come from --schedule-seed (default: --seed), and nothing else does: ports and
  random bytes stay those of --seed.
  --explore N runs the commands with N schedule seeds (0 to N-1, or from
  --schedule-seed) under --policy (default random), --jobs at a time, and prints
  the distinct outcomes: how many schedule seeds gave each, their exit statuses,
  the changed lines against the most common outcome, and the command line that
  reproduces each. --seeds A-B runs schedule seeds A to B instead, so that a CI
  matrix or GNU parallel can shard a sweep; with --format json each shard prints
  JSON lines (one record per schedule seed), and "python -m netsim.exploration
  SHARD.jsonl..." prints the table of them all. Exit status: 0 when every schedule
  seed gave one outcome, 1 when there were several or --stop-on matched.
  --shrink then replays each outcome's first seed and removes its scheduling
  decisions that differ from run-until-block for as long as the outcome stays (on
  the --jobs processes too): the table shows the few left, as --policy
  schedule:P:T,... (at scheduling point P task T runs) in a command line that
  reproduces the outcome, and the racing pair: the two operations whose order the
  last of them decides. With --format json, each outcome's first record carries
  them ("shrunk"), and the merged table shows them.
  --verify runs the commands --verify-runs times (default 2) with the same seeds
  and fails (exit 1) with the first difference of the transcripts or the traces.
"""


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("schedules (see below)")
    group.add_argument("--policy", metavar="NAME",
                       help="the scheduling policy: run-until-block (default), random, pct "
                            "(pct:D for depth D, default 3), or schedule:P:T,... (a shrunk schedule)")
    group.add_argument("--schedule-seed", metavar="N",
                       help="seeds the random policy's choices alone (default: --seed)")
    group.add_argument("--explore", metavar="N",
                       help="run N schedule seeds and print the distinct outcomes")
    group.add_argument("--seeds", metavar="A-B", help="explore the schedule seeds A to B (inclusive)")
    group.add_argument("--jobs", metavar="J",
                       help="with --explore: runs at a time, in parallel processes (default: the CPUs)")
    group.add_argument("--outcome", metavar="WHAT", default="transcript",
                       help="with --explore: group seeds by their transcript (default), 'exit' "
                            "(the exit statuses), or a regular expression (its matches)")
    group.add_argument("--stop-on", metavar="REGEX",
                       help="with --explore: stop at the first seed whose transcript matches")
    group.add_argument("--shrink", action="store_true",
                       help="with --explore: shrink each outcome's schedule and name its racing pair")
    group.add_argument("--verify", action="store_true",
                       help="run twice with the same seed; exit 1 with the first difference")
    group.add_argument("--verify-runs", metavar="N", help="with --verify: how many runs (default 2)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether simrun is to explore or verify rather than run once. Raises
    UsageError for a sweep's option without a sweep, or a single run's with one."""
    if args.explore or args.seeds or args.verify:
        _check_combination(args)
        return True
    for option, value in (("--jobs", args.jobs), ("--stop-on", args.stop_on), ("--shrink", args.shrink or None)):
        if value is not None:
            raise simrun.UsageError(f"{option} goes with --explore; see simrun --help")
    if args.verify_runs is not None:
        raise simrun.UsageError("--verify-runs goes with --verify")
    if args.outcome != "transcript":
        raise simrun.UsageError("--outcome goes with --explore; see simrun --help")
    return False


def run_options(args: argparse.Namespace) -> dict[str, object]:
    """simrun._run's policy and schedule_seed for a single run (or --verify)."""
    schedule_seed = None
    if args.schedule_seed is not None:
        schedule_seed = _whole("--schedule-seed", args.schedule_seed, 0)
        if schedule_seed >= 2**64:
            raise simrun.UsageError(f"--schedule-seed takes an integer below 2**64, not {args.schedule_seed!r}")
    policy = args.policy or "run-until-block"
    if (problem := _policy.problem(policy)) is not None:
        raise simrun.UsageError(problem)
    return {"policy": policy, "schedule_seed": schedule_seed}


def main(args: argparse.Namespace, commands: list[tuple[str, list[str]]], inputs: dict[str, bytes],
         seed: int, timeout: float | None, scenario: dict | None, cassette: Any = None) -> int:
    """``scenario``: the network's data (simrun._scenario_of), None for a perfect wire;
    ``cassette``: the --replay plan (netsim._cassette), each run replaying it."""
    from netsim import exploration as ex

    try:
        if args.verify:
            return _verify(args, commands, inputs, seed, timeout, scenario, cassette)
        seeds = _seeds(args)
        jobs = _whole("--jobs", args.jobs, 1) if args.jobs is not None else None
        sweep = ex._Sweep(commands, inputs, seed, args.policy or ex.EXPLORING_POLICY, args.outcome,
                          args.stop_on, timeout,
                          ex.reproduce_options(simrun._parse_names(args.name), timeout,
                                               dict(pair.partition("=")[::2] for pair in args.stdin))
                          + _network_words(args) + _cassette_words(args),
                          args.commands, scenario, cassette)
        progress = _Progress(sys.stderr, len(seeds)) if sys.stderr.isatty() else None
        with sweep.workers(ex._jobs(jobs)) as workers:
            found = sweep.run(seeds, workers, progress.update if progress else None)
            if progress:
                progress.clear()
            if args.shrink:
                found = sweep.shrink_all(found, workers)
    except simrun.UsageError as e:
        print(f"simrun: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"simrun: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simrun: interrupted", file=sys.stderr)
        return 130
    if args.format == "json":
        sys.stdout.writelines(line + "\n" for line in ex.records(found))
    else:
        sys.stdout.write(str(found))
    sys.stdout.flush()
    return 0 if len(found.outcomes) == 1 and found.stopped_at is None else 1


def _network_words(args: argparse.Namespace) -> list[str]:
    """The network's options as given, for the reproduction lines."""
    words = ["--scenario", args.scenario] if args.scenario is not None else []
    for host in args.host:
        words += ["--host", host]
    for option in ("latency", "jitter", "rate", "loss"):
        if getattr(args, option) is not None:
            words += [f"--{option}", getattr(args, option)]
    return words + (["--no-annotate"] if args.no_annotate else [])


def _cassette_words(args: argparse.Namespace) -> list[str]:
    """The --replay options as given, for the reproduction lines."""
    if args.replay is None:
        return []
    words = ["--replay", args.replay] + (["--match", args.match] if args.match != "bytes" else [])
    for header in args.ignore_header:
        words += ["--ignore-header", header]
    return words


def _verify(args: argparse.Namespace, commands: list[tuple[str, list[str]]], inputs: dict[str, bytes],
            seed: int, timeout: float | None, scenario: dict | None, cassette: Any) -> int:
    from netsim import _verify as _verify_runs

    runs = _whole("--verify-runs", args.verify_runs, 2) if args.verify_runs is not None else 2
    options = run_options(args)
    difference = _verify_runs.first_difference(commands, inputs, seed, options["policy"],
                                               options["schedule_seed"], timeout, runs, scenario, cassette)
    if difference is None:
        print(f"simrun: --verify: {runs} runs of seed {seed} (policy {options['policy']}) gave the "
              "same transcript and trace", file=sys.stderr)
        return 0
    sys.stdout.write(difference + "\n")
    what = "the runs differ, or one departed from the cassette" if cassette is not None else "the runs differ"
    print(f"simrun: --verify: {what} (the first difference is on stdout)", file=sys.stderr)
    return 1


def _check_combination(args: argparse.Namespace) -> None:
    single = [option for option, value in (("-o", args.output), ("--check", args.check),
                                           ("--trace", args.trace)) if value is not None]
    mode = "--verify" if args.verify else "--explore"
    if single:
        raise simrun.UsageError(f"{single[0]} is for a single run, not {mode}; drop one of them")
    if args.verify and (args.explore or args.seeds):
        raise simrun.UsageError("--verify checks one seed, --explore runs many: give one of them")
    if args.explore and args.seeds:
        raise simrun.UsageError("give --explore N or --seeds A-B, not both")
    if args.seeds and args.schedule_seed is not None:
        raise simrun.UsageError("--seeds A-B names the schedule seeds: drop --schedule-seed")
    sweep_only = [option for option, value in (("--jobs", args.jobs), ("--stop-on", args.stop_on))
                  if value is not None] + (["--shrink"] if args.shrink else [])
    if args.format == "json":
        sweep_only.append("--format json")
    if args.outcome != "transcript":
        sweep_only.append("--outcome")
    if args.verify and sweep_only:
        raise simrun.UsageError(f"{sweep_only[0]} goes with --explore, not --verify")
    if not args.verify and args.verify_runs is not None:
        raise simrun.UsageError("--verify-runs goes with --verify")


def _seeds(args: argparse.Namespace) -> list[int]:
    if args.seeds is not None:
        match = re.fullmatch(r"([0-9]+)-([0-9]+)", args.seeds)
        if not match or int(match[1]) > int(match[2]) or int(match[2]) >= 2**64:
            raise simrun.UsageError(f"--seeds takes a range A-B of seeds, A <= B (e.g. 0-99), not {args.seeds!r}")
        return list(range(int(match[1]), int(match[2]) + 1))
    count = _whole("--explore", args.explore, 1)
    first = run_options(args)["schedule_seed"] or 0
    if first + count > 2**64:
        raise simrun.UsageError(f"--explore {count} from --schedule-seed {first} goes past the last "
                                "seed, 2**64-1")
    return list(range(first, first + count))


def _whole(option: str, text: str, least: int) -> int:
    if re.fullmatch(r"[0-9]+", text) and int(text) >= least:
        return int(text)
    raise simrun.UsageError(f"{option} takes a whole number, {least} or more, not {text!r}")


class _Progress:
    """A progress line on a terminal: wall-clock speed, so never in the output."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out, self.total, self.start = out, total, time.monotonic()
        self.keys: set[str] = set()

    def update(self, run: exploration.SeedRun, done: int) -> None:
        self.keys.add(run.outcome)
        rate = done / max(time.monotonic() - self.start, 1e-9)
        filled = 30 * done // self.total
        self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} seeds, "
                       f"{rate:.1f} seeds/s, {len(self.keys)} outcome{'s' if len(self.keys) != 1 else ''}\033[K")
        self.out.flush()

    def clear(self) -> None:
        self.out.write("\r\033[K")
        self.out.flush()
