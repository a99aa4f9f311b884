"""--verify and --explore replaying a cassette (docs/cassettes.md): every run replays
it; a departure from it is the verification's finding, and an outcome's problem in a
sweep; recording with either is a usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netsim import simrun

pytestmark = pytest.mark.simrun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"
SIMRUN = [sys.executable, "-m", "netsim.simrun"]
OTHER_CLIENT = """\
import socket
with socket.create_connection(("localhost", 10000)) as sock:
    sock.sendall(b"other")
    print("got", sock.recv(100))
"""


@pytest.fixture(scope="module")
def echo_cassette(tmp_path_factory):
    path = tmp_path_factory.mktemp("echo") / "echo.jsonl"
    report = simrun.run_commands([str(EXAMPLES / "echo_server.py"), str(EXAMPLES / "echo_client.py")],
                                 record=str(path), record_server=["localhost:10000"])
    assert report.cassette == ""
    return path


def run(*words, cwd=None):
    return subprocess.run([*SIMRUN, *words], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_verify_replays_the_cassette_in_every_run(echo_cassette):
    done = run("--verify", "--verify-runs", "3", "--replay", str(echo_cassette), str(EXAMPLES / "echo_client.py"))
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "", "simrun: --verify: 3 runs of seed 0 (policy run-until-block) gave the same transcript and trace\n")


def test_verify_reports_a_departure_from_the_cassette(echo_cassette, tmp_path):
    (tmp_path / "other.py").write_text(OTHER_CLIENT)
    done = run("--verify", "--replay", str(echo_cassette), "other.py", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == (
        "run 1 of seed 0 (policy run-until-block) departed from the cassette\n"
        "cassette: connection 1 (the 1st to localhost:10000) differs from the recording at byte 0 of what the "
        "program sent: expected \"This is the message.  It will be repeate\"..., got \"other\"\n")
    assert done.stderr == ("simrun: --verify: the runs differ, or one departed from the cassette (the first "
                           "difference is on stdout)\n")


def test_explore_replays_the_cassette_for_each_schedule_seed(echo_cassette, tmp_path):
    (tmp_path / "other.py").write_text(OTHER_CLIENT)
    same = run("--explore", "4", "--jobs", "2", "--replay", str(echo_cassette), "other.py", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[0] == "4 schedule seeds (0-3), policy random: 1 outcome"
    assert ("   problem: cassette: connection 1 (the 1st to localhost:10000) differs from the recording at "
            "byte 0") in same.stdout
    assert (f"   reproduce: simrun --seed 0 --schedule-seed 0 --policy random --replay {echo_cassette} "
            "other.py\n") in same.stdout
    again = run("--explore", "4", "--jobs", "1", "--replay", str(echo_cassette), "other.py", cwd=tmp_path)
    assert again.stdout == same.stdout


@pytest.mark.parametrize("mode", [["--verify"], ["--explore", "2"], ["--seeds", "0-1"]])
def test_recording_with_verify_or_explore_is_a_usage_error(echo_cassette, tmp_path, mode):
    done = run(*mode, "--record", str(tmp_path / "new.jsonl"), "--record-server", "localhost:10000",
               str(EXAMPLES / "echo_server.py"), str(EXAMPLES / "echo_client.py"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("simrun: --record does not go with --explore, --seeds or --verify: each run would "
                           "record the cassette anew (and a real service need not answer twice alike); record "
                           "once, then give them --replay CASSETTE\n")
    assert not (tmp_path / "new.jsonl").exists()
