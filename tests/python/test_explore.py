"""Schedule exploration: simrun --policy/--schedule-seed/--explore/--seeds/--verify,
netsim.explore and the netsim_explore pytest fixture, on the racy counter of
examples/explore and its locked variant."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import netsim
from netsim import _shrink, exploration, simrun

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explore"
SERVER = str(EXAMPLES / "counter_server.py")
RACY = [SERVER, str(EXAMPLES / "counter_client.py")]
LOCKED = [SERVER, f"{EXAMPLES / 'counter_client.py'} --lock"]


@pytest.fixture(scope="module")
def racy_sweep() -> exploration.Exploration:
    """200 schedule seeds of the racy counter, shared by the tests that read it."""
    return netsim.explore(RACY, 200, jobs=2)


@pytest.fixture(scope="module")
def shrunk_sweep() -> exploration.Exploration:
    """Two schedule seeds of the racy counter (two outcomes), shrunk in this process."""
    return netsim.explore(RACY, [0, 1], jobs=1, shrink=True)


def simrun_main(capsys, *argv: str) -> tuple[int, str, str]:
    status = simrun.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_racy_counter_has_several_outcomes_over_200_seeds(racy_sweep):
    assert len(racy_sweep.outcomes) >= 2
    assert racy_sweep.seeds == list(range(200))
    assert sum(o.count for o in racy_sweep.outcomes) == 200
    counts = {line.rpartition(": ")[2] for o in racy_sweep.outcomes for line in o.transcript.splitlines()
              if line.startswith("counter_client: count")}
    assert "count 4, expected 4" in counts  # the increments did not overlap
    assert any(c != "count 4, expected 4" for c in counts)  # an increment was lost


def test_each_reproduction_line_reproduces_its_outcome_10_times_of_10(racy_sweep):
    for outcome in racy_sweep.outcomes[:2]:
        words = shlex.split(outcome.command)
        assert words[0] == "simrun"
        for _ in range(10):
            done = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
            assert done.stdout == outcome.first.transcript_bytes
            assert done.returncode == dict((n, s) for n, s, _ in outcome.first.statuses)["counter_client"]


def test_pct_finds_the_lost_increment_and_its_lines_reproduce():
    """PCT (seeded priorities, d-1 change points) finds the race too, every schedule
    seed of it repeats exactly, and a poller of high priority does not starve the
    task it waits for (each run ends on its own: no problem)."""
    found = netsim.explore(RACY, 40, policy="pct", jobs=2)
    counts = {line.rpartition(": ")[2] for o in found.outcomes for line in o.transcript.splitlines()
              if line.startswith("counter_client: count")}
    assert "count 4, expected 4" in counts and len(counts) >= 2
    assert all(not run.problem for o in found.outcomes for run in o.runs)
    rare = found.outcomes[-1]
    assert "--policy pct " in rare.command
    words = shlex.split(rare.command)
    for _ in range(3):
        done = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
        assert done.stdout == rare.first.transcript_bytes


def test_a_program_without_a_race_has_one_outcome_over_200_seeds(netsim_explore):
    found = netsim_explore(LOCKED, 200, jobs=2)
    assert [o.transcript for o in found.outcomes] == [
        "counter_client: count 4, expected 4\ncounter_server: netsim: stopped by SIGTERM at the end of the run\n"]


def test_the_table_is_the_same_whatever_the_jobs(racy_sweep):
    one = netsim.explore(RACY, range(40), jobs=1)
    two = netsim.explore(RACY, range(40), jobs=2)
    assert str(one) == str(two)
    # The first 40 seeds of the 200-seed sweep ran the same way there.
    first = {run.schedule_seed: run.transcript_bytes for o in racy_sweep.outcomes for run in o.runs}
    assert all(first[run.schedule_seed] == run.transcript_bytes for o in one.outcomes for run in o.runs)


def test_the_table_shows_counts_statuses_diffs_and_quoted_reproduction_lines(racy_sweep):
    table = str(racy_sweep)
    assert table.startswith(f"200 schedule seeds (0-199), policy random: {len(racy_sweep.outcomes)} outcomes\n")
    top, second = racy_sweep.outcomes[:2]
    assert top.count >= second.count
    assert f"#2 {second.count:>3} seeds" in table
    assert "exit statuses: counter_server 143 (stopped), counter_client " in table
    assert f"   reproduce: {second.command}\n" in table
    assert second.command == shlex.join(["simrun", "--seed", "0", "--schedule-seed", str(second.first.schedule_seed),
                                         "--policy", "random", *RACY])
    assert any(line.startswith("-counter_client: count") for line in second.diff)
    assert any(line.startswith("+counter_client: count") for line in second.diff)


def test_outcome_by_exit_status_or_by_a_regular_expression():
    by_exit = netsim.explore(RACY, 30, jobs=1, outcome="exit")
    by_regex = netsim.explore(RACY, 30, jobs=1, outcome=r"count \d")
    lost = {o.first.outcome for o in by_exit.outcomes}
    assert lost <= {"counter_server 143 (stopped), counter_client 0", "counter_server 143 (stopped), counter_client 1"}
    assert {o.first.outcome for o in by_regex.outcomes} <= {"count 2", "count 3", "count 4"}
    assert len(by_regex.outcomes) >= len(by_exit.outcomes)


def test_stop_on_ends_at_the_lowest_matching_seed_whatever_the_jobs(racy_sweep):
    lost = [run.schedule_seed for o in racy_sweep.outcomes for run in o.runs
            if "count 4" not in run.transcript]
    for jobs in (1, 2):
        found = netsim.explore(RACY, 200, jobs=jobs, stop_on="count [0-3],")
        assert found.stopped_at == min(lost)
        assert found.seeds == list(range(min(lost) + 1))


def test_json_records_of_shards_merge_into_the_table_of_the_whole_sweep(capsys, tmp_path):
    shards = []
    for span in ("0-9", "10-19"):
        status, out, _ = simrun_main(capsys, "--seeds", span, "--format", "json", *RACY)
        assert status in (0, 1)
        shards.append(out)
        records = [json.loads(line) for line in out.splitlines()]
        first, last = map(int, span.split("-"))
        assert [r["schedule_seed"] for r in records] == list(range(first, last + 1))
        assert {r["policy"] for r in records} == {"random"}
    whole = netsim.explore(RACY, 20, jobs=2)
    # The shards in any order, one of them twice: the same table.
    merged = exploration.merge((shards[1] + shards[0] + shards[1]).splitlines())
    assert str(merged) == str(whole)
    (tmp_path / "a.jsonl").write_text(shards[0])
    (tmp_path / "b.jsonl").write_text(shards[1])
    done = subprocess.run([sys.executable, "-m", "netsim.exploration", str(tmp_path / "a.jsonl"),
                           str(tmp_path / "b.jsonl")], capture_output=True, text=True)
    assert done.stdout == str(whole)
    assert done.returncode == (0 if len(whole.outcomes) == 1 else 1)


def test_a_seed_record_keeps_bytes_that_are_not_utf8():
    run = exploration.SeedRun(3, 0, "random", b"p: \xff\xfe\n", (("p", 0, False),), "", "k", "simrun p")
    assert exploration.SeedRun.from_json(run.to_json()) == run


def test_explore_cli_prints_the_table_and_exits_1_for_several_outcomes(capsys):
    status, out, err = simrun_main(capsys, "--explore", "20", "--jobs", "2", *RACY)
    assert out == str(netsim.explore(RACY, 20, jobs=1))
    assert status == (1 if out.count("\n#") > 1 else 0)
    assert err == ""  # no progress bar when stderr is not a terminal


def test_explore_cli_exits_0_for_one_outcome(capsys):
    status, out, _ = simrun_main(capsys, "--explore", "5", *LOCKED)
    assert status == 0
    assert ": 1 outcome\n" in out.splitlines()[0] + "\n"


def test_policy_and_schedule_seed_reach_a_single_run(capsys, racy_sweep):
    outcome = racy_sweep.outcomes[-1]
    status, out, _ = simrun_main(capsys, "--policy", "random", "--schedule-seed",
                                 str(outcome.first.schedule_seed), *RACY)
    assert out.encode() == outcome.first.transcript_bytes
    # run-until-block, the default, ignores the schedule seed: one interleaving.
    outs = {simrun_main(capsys, "--schedule-seed", str(s), *RACY)[1] for s in (1, 2, 3)}
    assert len(outs) == 1


@pytest.mark.parametrize("argv, message", [
    (["--policy", "fifo"], "policy is 'run-until-block', 'random', 'pct' or 'pct:D'"),
    (["--policy", "pct:x"], "policy is 'run-until-block', 'random', 'pct' or 'pct:D'"),
    (["--explore", "0"], "--explore takes a whole number, 1 or more, not '0'"),
    (["--explore", "x"], "--explore takes a whole number, 1 or more, not 'x'"),
    (["--seeds", "9-3"], "--seeds takes a range A-B of seeds, A <= B (e.g. 0-99), not '9-3'"),
    (["--explore", "3", "--seeds", "0-2"], "give --explore N or --seeds A-B, not both"),
    (["--explore", "3", "--jobs", "0"], "--jobs takes a whole number, 1 or more, not '0'"),
    (["--explore", "3", "--outcome", "("], "--outcome '(': not a regular expression"),
    (["--explore", "3", "-o", "x.txt"], "-o is for a single run, not --explore"),
    (["--verify", "--explore", "3"], "--verify checks one seed, --explore runs many"),
    (["--verify", "--jobs", "2"], "--jobs goes with --explore, not --verify"),
    (["--jobs", "2"], "--jobs goes with --explore; see simrun --help"),
    (["--verify", "--format", "json"], "--format json goes with --explore, not --verify"),
    (["--explore", "3", "--format", "html"], "--format html is for a single run's transcript"),
    (["--verify-runs", "3"], "--verify-runs goes with --verify"),
    (["--verify", "--verify-runs", "1"], "--verify-runs takes a whole number, 2 or more, not '1'"),
    (["--schedule-seed", "-1"], "--schedule-seed takes a whole number, 0 or more, not '-1'"),
])
def test_usage_errors_are_one_line_with_status_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = simrun_main(capsys, *argv, *RACY)
    assert list(tmp_path.iterdir()) == []  # no file made for a run that never starts
    assert status == 2
    assert out == ""
    assert err.startswith(f"simrun: {message}")
    assert err.count("\n") == 1


def test_verify_passes_for_a_deterministic_program(capsys):
    status, out, err = simrun_main(capsys, "--verify", "--verify-runs", "3", "--policy", "random", *RACY)
    assert (status, out) == (0, "")
    assert err == "simrun: --verify: 3 runs of seed 0 (policy random) gave the same transcript and trace\n"


def test_verify_names_the_first_difference_and_its_likely_source(capsys, tmp_path):
    # The real PID, read through /proc: something netsim does not simulate.
    script = tmp_path / "real_pid.py"
    script.write_text("import os\nprint('hello')\nprint('pid', os.readlink('/proc/self'))\n")
    status, out, err = simrun_main(capsys, "--verify", str(script))
    assert status == 1
    assert err == "simrun: --verify: the runs differ (the first difference is on stdout)\n"
    assert out.startswith("run 2 of seed 0 (policy run-until-block) differs from run 1\n"
                          "first difference in the transcript, line 2:\n")
    assert "-real_pid: pid " in out and "+real_pid: pid " in out
    assert "first difference in the trace, event " in out
    assert "real_pid (pid 1000, task " in out
    assert "likely source: real_pid made the same calls in both runs, then printed different bytes" in out
    assert "/proc" in out


def test_netsim_explore_fixture_fails_with_the_seed_and_the_reproduction_line(pytester):
    pytester.makepyfile(f"""
        def test_counter(netsim_explore):
            netsim_explore({RACY!r}, 20, jobs=1, invariant=r"count 4, expected 4")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the invariant failed for * of 20 schedule seeds*",
                                 "*schedule seed * (and * more): simrun --seed 0 --schedule-seed * "
                                 "--policy random *counter_server.py *counter_client.py*"])
    assert "Traceback" not in result.stdout.str()


def schedule_events(trace: Path) -> list[dict]:
    return [e for e in map(json.loads, trace.read_text().splitlines()) if e["event"] == "schedule"]


@pytest.mark.parametrize("policy", ["random", "pct"])
def test_a_runs_recorded_deviations_replay_it_exactly(capsys, tmp_path, policy):
    status, out, _ = simrun_main(capsys, "--policy", policy, "--schedule-seed", "3",
                                 "--trace", str(tmp_path / "explored.jsonl"), *RACY)
    deviations = schedule_events(tmp_path / "explored.jsonl")
    assert deviations and all(e["task"] != e["passed"] for e in deviations)
    points = [e["value"] for e in deviations]
    assert points == sorted(set(points))
    policy = "schedule:" + ",".join(f"{e['value']}:{e['task']}" for e in deviations)
    replayed = simrun_main(capsys, "--policy", policy, "--trace", str(tmp_path / "replay.jsonl"), *RACY)
    assert replayed[:2] == (status, out)
    assert schedule_events(tmp_path / "replay.jsonl") == deviations
    # No deviation: run-until-block's interleaving, and no schedule event.
    plain = simrun_main(capsys, "--policy", "schedule:", "--trace", str(tmp_path / "plain.jsonl"), *RACY)
    assert plain[1] == simrun_main(capsys, *RACY)[1]
    assert schedule_events(tmp_path / "plain.jsonl") == []


def test_shrinking_keeps_the_deviations_an_outcome_needs_and_names_the_race(shrunk_sweep):
    found = shrunk_sweep
    assert found.shrunk and len(found.outcomes) == 2
    # Both shrink all the way within the budget.
    assert all(outcome.shrunk is not None and outcome.shrunk.minimal for outcome in found.outcomes)
    for outcome in found.outcomes:
        shrunk = outcome.shrunk
        assert shrunk is not None
        assert shrunk.deviations <= shrunk.found_in
        words = shlex.split(shrunk.command)
        assert words[:5] == ["simrun", "--seed", "0", "--policy", shrunk.policy]
        runs = [subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
                for _ in range(10)]
        assert {run.stdout for run in runs} == {outcome.first.transcript_bytes}
        if shrunk.deviations:
            # 1-minimal: without any one of its deviations the outcome changes.
            kept = shrunk.policy.removeprefix("schedule:").split(",")
            for i in range(len(kept) if shrunk.minimal else 0):
                fewer = "schedule:" + ",".join(kept[:i] + kept[i + 1:])
                assert netsim.run_commands(RACY, policy=fewer).transcript_bytes != outcome.first.transcript_bytes
            assert re.fullmatch(r"at \d\.\d{6} s, scheduling point \d+: counter_\w+ task \d+ \w+ on fd \d+ "
                                r"\(at \d\.\d{6} s\) ran before counter_\w+ task \d+ \w+ on fd \d+ \(at \d\.\d{6} s\)",
                                shrunk.race), shrunk.race
            assert f"   race: {shrunk.race}\n" in str(found)
        else:
            assert shrunk.race == ""
            assert "run-until-block gives it" in str(found)
    # No deviation is left exactly where run-until-block gives the outcome by itself.
    plain = netsim.run_commands(RACY).transcript_bytes
    assert all((o.shrunk.deviations == 0) == (o.first.transcript_bytes == plain) for o in found.outcomes)


def test_shrinking_gives_the_same_schedules_whatever_the_jobs(shrunk_sweep):
    """Two workers run each round's candidates side by side; the first candidate in
    the round's order that keeps the outcome is the one taken, as with one."""
    two = netsim.explore(RACY, [0, 1], jobs=2, shrink=True)
    assert [o.shrunk for o in two.outcomes] == [o.shrunk for o in shrunk_sweep.outcomes]
    assert str(two) == str(shrunk_sweep)


def test_pct_outcomes_shrink_and_their_shrunk_lines_reproduce():
    found = netsim.explore(RACY, 6, policy="pct", jobs=2, shrink=True)
    plain = netsim.run_commands(RACY).transcript_bytes
    assert len(found.outcomes) >= 2
    for outcome in found.outcomes:
        shrunk = outcome.shrunk
        assert shrunk is not None and shrunk.minimal and shrunk.deviations <= shrunk.found_in
        assert (shrunk.deviations == 0) == (outcome.first.transcript_bytes == plain)
        assert (shrunk.race != "") == (shrunk.deviations > 0)
        words = shlex.split(shrunk.command)
        assert words[:5] == ["simrun", "--seed", "0", "--policy", shrunk.policy]
        for _ in range(3):
            done = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
            assert done.stdout == outcome.first.transcript_bytes
    assert any(o.shrunk.deviations > 0 for o in found.outcomes)


def test_shrunk_records_merge_into_the_shrunk_table(shrunk_sweep, capsys):
    lines = exploration.records(shrunk_sweep)
    records = [json.loads(line) for line in lines]
    firsts = {o.first.schedule_seed: o.shrunk for o in shrunk_sweep.outcomes}
    for record in records:
        if record["schedule_seed"] in firsts:
            assert record["shrunk"]["policy"] == firsts[record["schedule_seed"]].policy
        else:
            assert "shrunk" not in record
    # Shards in any order give the table of the whole shrunk sweep.
    assert str(exploration.merge(lines[::-1])) == str(shrunk_sweep)
    assert str(exploration.merge(lines[:1])).count("   shrunk: ") == 1
    # Records without shrink data: no shrunk lines at all.
    plain = [json.dumps({k: v for k, v in r.items() if k != "shrunk"}) for r in records]
    assert "shrunk:" not in str(exploration.merge(plain))
    # From simrun: --shrink with --format json (the locked counter: run-until-block gives it).
    status, out, _ = simrun_main(capsys, "--seeds", "0-1", "--shrink", "--format", "json", *LOCKED)
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [r["schedule_seed"] for r in records] == [0, 1]
    assert records[0]["shrunk"]["policy"] == "schedule:" and "shrunk" not in records[1]
    assert "   shrunk: run-until-block gives it, no deviation needed: " in str(exploration.merge(out.splitlines()))


def _oracle(needed: set[tuple[int, int]], eager: bool):
    """A stand-in for the runs: a schedule gives the outcome when it keeps every
    needed deviation; a deviation at a point divisible by 4 is no decision (its run's
    trace leaves it out). ``eager``: every candidate run, as side-by-side workers may."""
    def trace(candidate):
        return [json.dumps({"event": "schedule", "value": p, "task": t}) for p, t in candidate if p % 4]

    def first(candidates):
        results = [needed <= set(c) for c in candidates] if eager else []
        for i, candidate in enumerate(candidates):
            if (results[i] if eager else needed <= set(candidate)):
                return i, trace(candidate)
        return None
    return first


def test_shrink_finds_the_needed_deviations_whatever_runs_them():
    found = [(point, 1 + point % 3) for point in range(1, 41)]
    needed = {found[4], found[30]}
    results = [_shrink.shrink(found, _oracle(needed, eager)) for eager in (False, True)]
    assert results[0] == results[1]
    kept, trace, runs, minimal = results[0]
    assert set(kept) == needed and minimal and runs < _shrink.DEFAULT_BUDGET
    assert _shrink.deviations_of(trace) == kept
    # Out of budget: the smallest list so far, which says it may not be the fewest.
    kept, _, runs, minimal = _shrink.shrink(found, _oracle(needed, False), budget=6)
    assert runs == 6 and not minimal and needed <= set(kept)
    # Run-until-block gives it: one run. Even all of them does not: None.
    assert _shrink.shrink(found, _oracle(set(), False))[::2] == ([], 1)
    assert _shrink.shrink(found, _oracle({(99, 1)}, False)) is None


def jittery_pings(tmp_path: Path) -> list[str]:
    """Two UDP pings over a link with jitter (jitter.toml): the round trips vary
    with the schedule seed."""
    (tmp_path / "pong.py").write_text(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 9000))\n"
        "while True:\n    data, peer = s.recvfrom(100)\n    s.sendto(data, peer)\n")
    (tmp_path / "ping.py").write_text(
        "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(2):\n"
        "    start = time.monotonic()\n    s.sendto(b'x', ('127.0.0.1', 9000))\n    s.recvfrom(100)\n"
        "    print(f'rtt {(time.monotonic() - start) * 1000:.3f} ms')\n")
    (tmp_path / "jitter.toml").write_text('[network]\ndelay = "1ms"\njitter = "1ms"\n')
    return [str(tmp_path / "pong.py"), str(tmp_path / "ping.py")]


def test_a_scenario_sweep_draws_the_network_from_the_schedule_seed(capsys, tmp_path):
    commands = jittery_pings(tmp_path)
    found = netsim.explore(commands, 6, jobs=2, scenario=tmp_path / "jitter.toml")
    assert len(found.outcomes) > 1
    for outcome in found.outcomes:
        words = shlex.split(outcome.command)
        assert words[words.index("--scenario") + 1] == str(tmp_path / "jitter.toml")
        again = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
        assert again.stdout == outcome.first.transcript_bytes
    # The same from simrun's options, which the reproduction lines repeat.
    status, out, _ = simrun_main(capsys, "--explore", "6", "--jobs", "2", "--latency", "1ms", "--jitter", "1ms",
                                 *commands)
    assert status == 1 and out.count("\n#") == len(found.outcomes)
    assert all("--latency 1ms --jitter 1ms" in line for line in out.splitlines() if "reproduce:" in line)
    assert simrun_main(capsys, "--verify", "--jitter", "1ms", "--schedule-seed", "4", *commands)[0] == 0


def test_shrinking_a_scenario_sweep_keeps_each_outcomes_weather(tmp_path):
    """The schedule seed draws the network too: the shrunk runs and their lines keep it."""
    commands = jittery_pings(tmp_path)
    found = netsim.explore(commands, 4, jobs=2, scenario=tmp_path / "jitter.toml", shrink=True)
    assert len(found.outcomes) > 1
    for outcome in found.outcomes:
        assert outcome.shrunk is not None
        words = shlex.split(outcome.shrunk.command)
        assert words[words.index("--schedule-seed") + 1] == str(outcome.first.schedule_seed)
        again = subprocess.run([sys.executable, "-m", "netsim.simrun", *words[1:]], capture_output=True)
        assert again.stdout == outcome.first.transcript_bytes
