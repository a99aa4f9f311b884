"""The pytest plugin (netsim.pytest_plugin): a user's test suite run by pytester."""

import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import socket
import pytest

def serve():
    with socket.create_server(("127.0.0.1", 9000)) as listener:
        conn, address = listener.accept()
        print("connection from", address)
        conn.sendall(conn.recv(100).upper())

def ask():
    with socket.create_connection(("127.0.0.1", 9000)) as sock:
        sock.sendall(b"ping")
        print("got", sock.recv(100))

def run_echo(sim):
    sim.spawn("server", serve)
    sim.spawn("client", ask)
    result = sim.run()
    print("TRANSCRIPT", repr(result.transcript))
    return result

@pytest.mark.netsim(seed=7)
def test_marker_seed(netsim_sim):
    result = run_echo(netsim_sim)
    assert "client: got b'PING'" in result.transcript
    assert netsim_sim.seed == 7

def test_default_or_option_seed(netsim_sim):
    result = run_echo(netsim_sim)
    assert "client: got b'PING'" in result.transcript
    print("SEED", netsim_sim.seed)

def test_fixture_is_fresh(netsim_sim):
    # A simulation that ran in another test would refuse to run again.
    assert netsim_sim.result is None
'''


def plugin_args() -> list[str]:
    # Needed when netsim is not installed (PYTHONPATH from scripts/pydev); harmless
    # when it is, since the entry point has the module's name.
    return ["-p", "netsim.pytest_plugin"]


def run_user_tests(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester.runpytest(*plugin_args(), "-s", "-p", "no:cacheprovider", *args)


def transcripts(result: pytest.RunResult) -> list[str]:
    # With -s the prints share lines with pytest's progress dots.
    return [line[line.index("TRANSCRIPT"):] for line in result.outlines if "TRANSCRIPT" in line]


def test_fixture_runs_a_simulation_and_is_deterministic(pytester: pytest.Pytester) -> None:
    runs = [run_user_tests(pytester) for _ in range(3)]
    for run in runs:
        run.assert_outcomes(passed=3)
    first = transcripts(runs[0])
    assert len(first) == 2
    assert all(transcripts(run) == first for run in runs[1:])
    assert "SEED 0" in runs[0].stdout.str()


def test_seed_option_and_marker(pytester: pytest.Pytester) -> None:
    default = run_user_tests(pytester)
    seeded = run_user_tests(pytester, "--netsim-seed", "5")
    seeded.assert_outcomes(passed=3)
    assert "SEED 5" in seeded.stdout.str()
    assert "netsim: --netsim-seed 5" in seeded.outlines
    # The marked test keeps its seed 7 whatever the option says; the other one's
    # client gets another ephemeral port with seed 5 than with seed 0.
    assert transcripts(seeded)[0] == transcripts(default)[0]
    assert transcripts(seeded)[1] != transcripts(default)[1]


def test_failure_report_shows_the_transcript_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fails='''
        import pytest

        @pytest.mark.netsim(seed=3)
        def test_wrong_expectation(netsim_sim):
            netsim_sim.spawn("greeter", lambda: print("hello <world>"))
            assert netsim_sim.run().transcript == "greeter: bye\\n"
    ''')
    result = pytester.runpytest(*plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*netsim transcript (seed 3)*", "greeter: hello <world>"])


def test_bad_markers_are_clear_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad='''
        import pytest

        @pytest.mark.netsim(3)
        def test_positional(netsim_sim):
            pass

        @pytest.mark.netsim(sed=3)
        def test_misspelt(netsim_sim):
            pass

        @pytest.mark.netsim(seed=-2)
        def test_negative(netsim_sim):
            pass

        @pytest.mark.netsim(policy="fifo")
        def test_policy(netsim_sim):
            pass
    ''')
    result = pytester.runpytest(*plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines([
        "*pass the netsim marker's options by keyword, as @pytest.mark.netsim(seed=3)*",
        "*unknown netsim marker option(s) sed; expected seed, policy, epoch, socket_buffer*",
        "*netsim_sim: seed must be a non-negative integer, not -2*",
        "*netsim_sim: *fifo*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_entry_point_is_declared() -> None:
    """pip-installed netsim registers the plugin with pytest through pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"netsim.pytest_plugin": "netsim.pytest_plugin"}
    import netsim.pytest_plugin

    assert callable(netsim.pytest_plugin.netsim_sim)
