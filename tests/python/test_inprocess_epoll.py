"""select.epoll, selectors.EpollSelector and asyncio in-process: the kernel's epoll
(core/src/epoll.cpp) behind Python's, checked against the same program run natively."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netsim

PROGRAM = Path(__file__).parent / "programs" / "epoll_check.py"


def make():
    spec = importlib.util.spec_from_file_location("epoll_check", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sim = netsim.Simulation(seed=7)
    sim.spawn("epoll_check", module.main)
    return sim


# The program sorts what it prints: no order of a set of strings shows.
@pytest.mark.filterwarnings("ignore::netsim.HashSeedWarning")
def test_python_epoll_in_process_matches_linux(run_many) -> None:
    result = run_many(make, times=3)
    assert result.exit_status == 0
    native = subprocess.run([sys.executable, str(PROGRAM)], capture_output=True, timeout=60, check=True).stdout.decode()
    assert re.sub(r"^epoll_check: ", "", result.transcript, flags=re.MULTILINE) == native
