"""simrun as a new user meets it: output that cannot be written, Ctrl-C during
start-up, odd option values, odd file names, simrun under simrun. Never a traceback
of simrun's own, never a hang (issue 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import netsim
from netsim import simrun

from test_simrun_cli import REPO, run_simrun, script, usage_error

# The installed command: its entry point takes SIGINT before the heavy imports.
SIMRUN = str(Path(sys.executable).with_name("simrun"))


@pytest.fixture
def hi(tmp_path):
    return script(tmp_path, "hi.py", "print('hi')\n")


def one_line(err: bytes, start: str) -> None:
    assert err.startswith(start.encode()) and err.count(b"\n") == 1, err
    assert b"Traceback" not in err


# --- the transcript cannot be written -------------------------------------------


def test_stdout_on_a_full_device(hi):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([SIMRUN, hi], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 1
    one_line(done.stderr, "simrun: cannot write the transcript to stdout: No space left on device")


def test_output_file_on_a_full_device(hi):
    done = run_simrun("-o", "/dev/full", hi)
    assert done.returncode == 1
    one_line(done.stderr, "simrun: cannot write the transcript to -o /dev/full: No space left on device")


def test_closed_stdout_asks_for_o_before_running(hi, tmp_path):
    closed = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", SIMRUN, hi],
                            stderr=subprocess.PIPE, timeout=60)
    assert closed.returncode == 2
    one_line(closed.stderr, "simrun: stdout is closed")
    saved = tmp_path / "t"
    with_o = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", SIMRUN, "-o", str(saved), hi],
                            stderr=subprocess.PIPE, timeout=60)
    assert (with_o.returncode, with_o.stderr) == (0, b"")
    assert saved.read_bytes() == b"hi: hi\n"


def test_a_pipe_closed_by_its_reader_ends_quietly_with_141(hi):
    read_end, write_end = os.pipe()
    os.close(read_end)  # before simrun starts: its write must meet a closed pipe
    try:
        done = subprocess.run([SIMRUN, hi], stdout=write_end, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")


# --- Ctrl-C during start-up --------------------------------------------------------


@pytest.mark.parametrize("point", ["start", "imported"])
def test_sigint_during_start_up_exits_130_with_one_line(hi, point):
    env = dict(os.environ, NETSIM_TEST_PAUSE=point)
    process = subprocess.Popen([SIMRUN, hi], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    assert process.stderr.readline() == f"paused at {point}\n".encode()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert (out, err) == (b"", b"simrun: interrupted by SIGINT\n")


# --- option values -------------------------------------------------------------------


def test_a_huge_timeout_means_no_limit(hi):
    runs = [run_simrun("--timeout", "1e10", hi) for _ in range(2)]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [(0, b"hi: hi\n", b"")] * 2


def test_python_api_checks_its_timeout(hi):
    for bad in (0, -1, float("nan"), float("inf"), -10**400):
        with pytest.raises(ValueError, match="timeout takes a positive number of seconds"):
            netsim.run_commands([hi], timeout=bad)
    for bad in ("1", True):
        with pytest.raises(TypeError, match="timeout is a number of seconds"):
            netsim.run_commands([hi], timeout=bad)
    with pytest.raises(TypeError, match="commands is a list"):
        netsim.run_commands(hi)
    assert str(netsim.run_commands([hi], timeout=10**400)) == "hi: hi\n"


def test_two_commands_may_not_be_shown_under_one_name(capsys, hi):
    err = usage_error(capsys, "--name", "hi=x", "--name", "hi-2=x", hi, hi)
    assert "two commands would both be shown as 'x'" in err
    with pytest.raises(ValueError, match="both be shown as 'hi'"):
        netsim.run_commands([hi, hi], names={"hi-2": "hi"})
    # A swap is two renames, each of them alone a clash.
    assert [name for name, _ in simrun.plan([hi, hi], {"hi": "hi-2", "hi-2": "hi"})] == ["hi-2", "hi"]


@pytest.mark.parametrize("other", ["-o", "--trace"])
def test_check_file_is_never_written(capsys, monkeypatch, tmp_path, hi, other):
    shim = tmp_path / "libnetsim_shim.so"
    shim.write_bytes(b"")
    monkeypatch.setenv("NETSIM_SHIM", str(shim))
    saved = tmp_path / "saved.transcript"
    saved.write_bytes(b"hi: hi\n")
    monkeypatch.chdir(tmp_path)
    err = usage_error(capsys, other, "./saved.transcript", "--check", str(saved), hi)
    assert "are the same file" in err
    assert saved.read_bytes() == b"hi: hi\n"


def test_double_dash_ends_the_options(tmp_path, hi):
    weird = script(tmp_path, "-weird-name.py", "import sys; print('argv', sys.argv[1:])\n")
    os.chdir(tmp_path)
    try:
        runs = [subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "1", "--",
                                "-weird-name.py", "python3 hi.py --flag"],
                               capture_output=True, timeout=60, env=dict(os.environ, PYTHONPATH=""))
                for _ in range(2)]
    finally:
        os.chdir(REPO)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == b"-weird-name: argv []\nhi: hi\n"
    assert runs[1].stdout == runs[0].stdout
    assert weird.endswith("-weird-name.py")


def test_names_keep_only_the_characters_names_allow(tmp_path):
    forged = tmp_path / "a:b\nserver: c d.py"
    forged.write_text("print('hi')\n")
    assert [name for name, _ in simrun.plan([[str(forged)]])] == ["a_b_server__c_d"]
    runs = [run_simrun(str(forged)) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout == b"a_b_server__c_d: hi\n"


# --- simrun under simrun -----------------------------------------------------------


def test_simrun_under_simrun_is_refused_at_once(hi):
    runs = [run_simrun(f"python3 -m netsim.simrun {hi}", timeout=60) for _ in range(2)]
    assert runs[0].returncode == 2
    assert runs[0].stdout.startswith(b"simrun: simrun: simrun cannot run under simrun")
    assert runs[0].stdout.count(b"\n") == 1
    assert runs[1].stdout == runs[0].stdout
