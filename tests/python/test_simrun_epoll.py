"""epoll as the simulated kernel keeps it (core/src/epoll.cpp), seen from real programs
under simrun (in-process: test_inprocess_epoll.py). Each program prints one fact a
line; its native run is Linux's answer, and the simulated runs must print the same,
run after run."""

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest


PROGRAMS = Path(__file__).parent / "programs"
RUNS = 3


def simrun_runs(*command: str) -> bytes:
    """simrun's stdout for the command, the same on every run."""
    def once(_):
        done = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "7", "--timeout", "60", *command],
                              capture_output=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(once, range(RUNS)))
    assert all(result == results[0] for result in results[1:])
    status, out, err = results[0]
    assert (status, err) == (0, b"")
    return out


def unprefixed(out: bytes) -> str:
    return re.sub(r"^[\w.-]+: ", "", out.decode(), flags=re.MULTILINE)


@pytest.fixture(scope="module")
def c_program(tmp_path_factory) -> Path:
    if not shutil.which("cc"):
        pytest.skip("no C compiler")
    binary = tmp_path_factory.mktemp("epoll") / "epoll_check"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(PROGRAMS / "epoll_check.c")], check=True)
    return binary


def test_c_epoll_corner_cases_match_linux(c_program: Path) -> None:
    # Errors, ELOOP and the nesting limit, level/edge/one-shot, maxevents' rotation,
    # entries that follow the open file through dup and close, nesting, and an
    # interest list shared with a forked child.
    native = subprocess.run([str(c_program)], capture_output=True, timeout=60, check=True).stdout.decode()
    assert native.endswith("done\n") and "child adds: ok" in native
    assert unprefixed(simrun_runs(str(c_program))) == native


def test_python_epoll_selectors_and_asyncio_under_simrun_match_linux() -> None:
    program = PROGRAMS / "epoll_check.py"
    native = subprocess.run([sys.executable, str(program)], capture_output=True, timeout=60, check=True).stdout.decode()
    assert "asyncio replies: ['LINE 0', 'LINE 1', 'LINE 2'] EpollSelector" in native
    assert unprefixed(simrun_runs(str(program))) == native
