"""The installed `simrun` command: a native launcher (python/launcher/simrun.cpp)
that starts simrun's own Python isolated and without `site`, while the programs it
runs start as they always do. It must behave as `python -m netsim.simrun` does:
the same bytes from any directory, --help, exit status 2 and one line for a usage
error, never a traceback; and, where the interpreter is not next to it, find it on
PATH or say in one line that it cannot."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from test_simrun_cli import REPO

SIMRUN = Path(sys.executable).with_name("simrun")
PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"

# What a program sees of its own interpreter's start, and where its modules are.
SEES = """\
import sys, json, pytest, netsim
print(sys.flags.no_site, sys.flags.isolated, sys.flags.ignore_environment, "site" in sys.modules)
print(json.__file__)
print(pytest.__file__)
print(netsim.__file__)
"""


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, timeout=120, **kwargs)


@pytest.fixture
def sees(tmp_path) -> Path:
    path = tmp_path / "sees.py"
    path.write_text(SEES)
    return path


def test_installed_command_is_the_native_launcher():
    assert SIMRUN.read_bytes()[:4] == b"\x7fELF"


def test_help_and_usage_errors():
    done = run([SIMRUN, "--help"])
    assert done.returncode == 0 and done.stdout.startswith(b"usage: simrun "), done.stderr
    for argv in (["--bogus"], ["--seed", "x", "a.py"], []):
        done = run([SIMRUN, *argv])
        assert done.returncode == 2, argv
        assert done.stdout == b""
        assert done.stderr.startswith(b"simrun: ") and done.stderr.count(b"\n") == 1, done.stderr


def test_a_missing_program_is_one_line_without_traceback(tmp_path):
    done = run([SIMRUN, "nothing-here.py"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(b"simrun: ") and done.stderr.count(b"\n") == 1, done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.simrun
def test_same_bytes_from_another_directory_as_python_dash_m(tmp_path, sees):
    """The programs start with site as always, and their paths are shown alike
    although simrun's own Python did not run site (json in the standard library,
    pytest in the base installation's site-packages, netsim in this one's)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    launched = [run([SIMRUN, "--seed", "3", "../sees.py"], cwd=elsewhere) for _ in range(3)]
    dash_m = run([sys.executable, "-m", "netsim.simrun", "--seed", "3", "../sees.py"], cwd=elsewhere)
    assert launched[0].returncode == 0, launched[0].stderr
    assert launched[0].stdout == (b"sees: 0 0 0 True\n"
                                  b"sees: <stdlib>/json/__init__.py\n"
                                  b"sees: <site-packages>/pytest/__init__.py\n"
                                  b"sees: <site-packages>/netsim/__init__.py\n")
    assert {r.stdout for r in launched} == {dash_m.stdout}
    assert [r.stderr for r in launched] == [dash_m.stderr] * 3 == [b""] * 3


def test_simruns_own_python_runs_without_site():
    """Seen from /proc while simrun waits at its first line (NETSIM_TEST_PAUSE)."""
    env = dict(os.environ, NETSIM_TEST_PAUSE="start")
    process = subprocess.Popen([SIMRUN, "x.py"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert process.stderr is not None
        assert process.stderr.readline() == b"paused at start\n"
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[:-1]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 130
    scripts = SIMRUN.parent
    packages = os.path.relpath(sysconfig.get_path("platlib"), scripts)
    assert argv == [str(scripts / PYTHON).encode(), b"-I", b"-S",
                    f"{scripts}/{packages}/netsim/_launch.py".encode(), b"x.py"]


@pytest.mark.simrun
def test_explore_through_the_launcher(tmp_path):
    """--explore's worker processes start from simrun's own Python, flags included."""
    (tmp_path / "hi.py").write_text("print('hi')\n")
    done = run([SIMRUN, "--explore", "4", "--jobs", "2", "hi.py"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"4 seeds" in done.stdout and b"1 outcome" in done.stdout, done.stdout


def launcher_alone(tmp_path: Path) -> Path:
    """A copy of the launcher with no interpreter next to it (as in pip's --user scheme)."""
    copy = tmp_path / "bin" / "simrun"
    copy.parent.mkdir()
    shutil.copy2(SIMRUN, copy)
    return copy


def test_without_an_interpreter_next_to_it_uses_path(tmp_path):
    copy = launcher_alone(tmp_path)
    path = tmp_path / "path"
    path.mkdir()
    # A wrapper, not a symbolic link: this Python finds its virtual environment from
    # the path it was started as.
    (path / PYTHON).write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (path / PYTHON).chmod(0o755)
    env = dict(os.environ, PATH=f"{path}:/usr/bin:/bin")
    done = run([copy, "--help"], env=env)
    assert done.returncode == 0 and done.stdout.startswith(b"usage: simrun "), done.stderr
    done = run([copy, "--bogus"], env=env)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"simrun: unknown option --bogus; see simrun --help\n"


def test_without_any_interpreter_says_so_in_one_line(tmp_path):
    copy = launcher_alone(tmp_path)
    done = run([copy, "--help"], env=dict(os.environ, PATH=str(tmp_path / "empty")))
    assert done.returncode == 127
    assert done.stdout == b""
    assert done.stderr == (f"simrun: cannot start {PYTHON} (not next to this command, nor on PATH): "
                           f"run simrun as `python3 -m netsim.simrun` with the Python netsim is "
                           f"installed in\n").encode()


def test_the_repository_keeps_one_command_line():
    """The launcher parses nothing: every option is netsim.simrun's."""
    text = (REPO / "python" / "launcher" / "simrun.cpp").read_text()
    assert "--seed" not in text and "--help" not in text


def test_a_plain_run_imports_no_heavy_module():
    """What simrun's own start pays for: none of these is needed for a run without
    --diagram, --format html or json, --epoch, --explore or a non-Python program
    (docs/benchmarks.md, "Start-up")."""
    import netsim

    packages = os.path.dirname(os.path.dirname(netsim.__file__))
    code = (f"import sys; sys.path.insert(0, {packages!r}); import netsim._simrun_command, netsim.simrun; "
            "print(' '.join(sorted(sys.modules)))")
    loaded = set(run([sys.executable, "-I", "-S", "-c", code], check=True).stdout.decode().split())
    assert "netsim.simrun" in loaded
    heavy = {"dataclasses", "inspect", "typing", "shutil", "datetime", "html", "json", "netsim._diagram",
             "netsim.exploration", "multiprocessing", "netsim.scenario"}
    assert loaded & heavy == set()
