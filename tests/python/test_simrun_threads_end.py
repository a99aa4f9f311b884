"""A thread's real end after it left the simulation (shim/runner/thread_end.cpp):
glibc's own clean-up of an ended thread must be over before its process's other
threads are served, or which slot the next thread gets, and whether a lock that
clean-up holds is met in the simulation, depend on real timing. tests/shim/thread_churn.cpp creates detached threads one after another, each
ending just before the next is created."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import netsim

ROOT = Path(__file__).resolve().parents[2]
THREADS = 1000


@pytest.fixture(scope="module")
def churn(tmp_path_factory) -> str:
    compiler = shutil.which("c++")
    assert compiler, "no C++ compiler: run scripts/deps"
    out = tmp_path_factory.mktemp("churn") / "thread_churn"
    subprocess.run([compiler, "-std=c++20", "-O2", "-pthread", "-o", str(out),
                    str(ROOT / "tests/shim/thread_churn.cpp")], check=True)
    return str(out)


def test_each_new_thread_ends_before_the_next_starts(churn):
    # Run-until-block: each thread runs to its end while its creator sleeps, on every
    # run. Thread ids are the core's, one numbering with pids as on Linux: the process
    # is 1000, its threads 1001, 1002... in the order they are created.
    for _ in range(3):
        report = netsim.run_commands([f"{churn} {THREADS}"], seed=1, timeout=120)
        assert not report.problem, report.problem
        assert report.transcript.splitlines() == [f"thread_churn: thread {1001 + i}" for i in range(THREADS)] + [
            f"thread_churn: created {THREADS}"]


def test_a_random_schedule_of_ending_threads_repeats_exactly(churn):
    runs = [netsim.run_commands([f"{churn} {THREADS}"], seed=1, policy="random", schedule_seed=5, timeout=120)
            for _ in range(4)]
    assert all(not run.problem for run in runs), [run.problem for run in runs]
    assert {run.transcript_bytes for run in runs} == {runs[0].transcript_bytes}
    assert runs[0].transcript.count("thread_churn: thread ") == THREADS


def test_threads_ending_after_their_main_thread_repeat_exactly(churn):
    # The main thread leaves first (pthread_exit) and stays a zombie until the last
    # thread ends, which no thread pidfd reports: simrun looks for its end in /proc.
    runs = [netsim.run_commands([f"{churn} {THREADS} main-exits"], seed=1, policy="random", schedule_seed=5,
                                timeout=120)
            for _ in range(3)]
    assert all(not run.problem for run in runs), [run.problem for run in runs]
    assert {run.transcript_bytes for run in runs} == {runs[0].transcript_bytes}
    assert runs[0].transcript.count("thread_churn: thread ") == THREADS
    assert f"thread_churn: created {THREADS}\n" in runs[0].transcript
    assert [(p.status, p.stopped) for p in runs[0].processes] == [(0, False)]
