"""Smoke tests of the installed package: it imports, knows its version, its
docstring example (a server and a client as functions) runs, and its simrun runs a
real program with the shim the package carries. scripts/test runs these against a
wheel built from the sdist, in a fresh virtual environment of each Python found."""

import doctest
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netsim

CMAKELISTS = Path(__file__).resolve().parents[2] / "CMakeLists.txt"


def test_version_is_the_project_version():
    # Written once, in CMakeLists.txt; the package's metadata and its module agree.
    written = re.search(r"project\(netsim VERSION ([0-9.]+)", CMAKELISTS.read_text()).group(1)
    assert netsim.__version__ == importlib.metadata.version("netsim") == written


def test_package_docstring_example_runs():
    failures, tried = doctest.testmod(netsim, verbose=False)
    assert tried > 0
    assert failures == 0


@pytest.mark.simrun
def test_simrun_runs_a_program_with_the_installed_shim(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import socket\nprint(socket.gethostbyname('localhost'))\n")
    simrun = Path(sys.executable).with_name("simrun")
    runs = [subprocess.run([simrun, "--seed", "1", str(script)], capture_output=True, timeout=120)
            for _ in range(2)]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout == b"hello: 127.0.0.1\n"
