"""A pytest plugin: the ``netsim_sim`` fixture and the ``netsim`` marker.

Installed with the package (entry point ``pytest11``), so any test can ask for a
fresh simulation::

    import socket

    @pytest.mark.netsim(seed=7)
    def test_echo(netsim_sim):
        netsim_sim.spawn("server", serve)
        netsim_sim.spawn("client", ask)
        assert "client: got b'ping'" in netsim_sim.run().transcript

The seed comes from the test's ``@pytest.mark.netsim(seed=N)`` marker, else from the
``--netsim-seed N`` command-line option, else 0. The marker also takes ``policy``,
``epoch``, ``socket_buffer`` and ``scenario`` (a TOML file's path or the same data as
a dict: hosts, links and faults, see docs/faults.md), as :class:`netsim.Simulation`
does. When a test
that ran its simulation fails, the report shows the transcript and the seed.

``netsim_explore`` runs real programs under many schedules (:func:`netsim.explore`)
and fails the test, with each failing schedule seed and the simrun line that
reproduces it, unless the invariant holds for every one::

    def test_counter_never_loses_an_increment(netsim_explore):
        netsim_explore(["counter_server.py", "counter_client.py --lock"], seeds=500,
                       invariant=r"count 4, expected 4")

``netsim_run`` runs real programs (:func:`netsim.run_commands`); with the
``netsim_cassette`` marker their services come from a cassette (docs/cassettes.md)::

    @pytest.mark.netsim_cassette("weather.jsonl", mode="once", allow=["localhost:8765"])
    def test_forecast(netsim_run):
        assert "Paris: rain" in netsim_run(["forecast.py"]).transcript
"""

from __future__ import annotations

from typing import Any, Generator, Iterator

import pytest

from netsim.exploration import Exploration, ExploreFailed, assert_one_outcome
from netsim.simulation import Result, Simulation

_MARKER_OPTIONS = ("seed", "policy", "epoch", "socket_buffer", "scenario")
_SIM = pytest.StashKey["_RecordingSimulation"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netsim")
    group.addoption("--netsim-seed", type=int, default=None, metavar="N",
                    help="seed for the netsim_sim fixture when the test's netsim marker gives none (default 0)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "netsim(seed=None, policy='run-until-block', epoch=None, socket_buffer=65536, scenario=None): "
        "options for the netsim_sim fixture's Simulation")
    config.addinivalue_line(
        "markers",
        "netsim_cassette(path, mode='once', allow=(), match='bytes', ...): the cassette of the "
        "netsim_run fixture's runs (docs/cassettes.md)")


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("netsim_seed")
    return None if seed is None else f"netsim: --netsim-seed {seed}"


class _RecordingSimulation(Simulation):
    """A Simulation that remembers its seed and result, for the failure report."""

    def __init__(self, seed: int, **options: Any) -> None:
        super().__init__(seed, **options)
        self.seed = seed
        self.result: Result | None = None

    def run(self) -> Result:
        self.result = super().run()
        return self.result


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("netsim")
    options: dict[str, Any] = {}
    if marker is not None:
        if marker.args:
            pytest.fail(f"pass the netsim marker's options by keyword, as "
                        f"@pytest.mark.netsim(seed={marker.args[0]!r})", pytrace=False)
        unknown = sorted(set(marker.kwargs) - set(_MARKER_OPTIONS))
        if unknown:
            pytest.fail(f"unknown netsim marker option(s) {', '.join(unknown)}; "
                        f"expected {', '.join(_MARKER_OPTIONS)}", pytrace=False)
        options.update(marker.kwargs)
    if options.get("seed") is None:
        option = request.config.getoption("netsim_seed")
        options["seed"] = 0 if option is None else option
    return options


@pytest.fixture
def netsim_sim(request: pytest.FixtureRequest) -> Iterator[Simulation]:
    """A fresh :class:`netsim.Simulation`, seeded by the test's ``netsim`` marker or
    ``--netsim-seed`` (default 0)."""
    options = _options(request)
    seed = options.pop("seed")
    try:
        sim = _RecordingSimulation(seed, **options)
    except (TypeError, ValueError) as e:
        pytest.fail(f"netsim_sim: {e}", pytrace=False)
    request.node.stash[_SIM] = sim
    yield sim


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    sim = item.stash.get(_SIM, None)
    if call.when == "call" and report.failed and sim is not None and sim.result is not None:
        report.sections.append((f"netsim transcript (seed {sim.seed})", sim.result.transcript))
    return report


@pytest.fixture
def netsim_explore() -> Any:
    """``netsim_explore(commands, seeds=200, invariant=None, **options)``: explores
    the schedule seeds (options as :func:`netsim.explore`'s) and fails the test
    unless every run had one outcome or, with ``invariant`` (a regular expression
    the transcript must match, or a predicate of a SeedRun), unless it holds for
    every run. Returns the Exploration."""

    def check(commands: Any, seeds: Any = 200, **options: Any) -> Exploration:
        try:
            return assert_one_outcome(commands, seeds, **options)
        except ExploreFailed as e:
            failure = str(e)
        pytest.fail(failure, pytrace=False)

    return check


_CASSETTE_OPTIONS = ("mode", "allow", "match", "ignore_headers", "mask", "mask_patterns", "record_server")


@pytest.fixture
def netsim_run(request: pytest.FixtureRequest) -> Any:
    """``netsim_run(commands, **options)``: :func:`netsim.run_commands`, with the
    cassette of the test's ``@pytest.mark.netsim_cassette(PATH, mode="once",
    allow=[...])`` marker when it has one (PATH relative to the test's file; modes and
    options as simrun's --record-mode and --allow..., docs/cassettes.md). A program
    that departs from the cassette fails the test with the first difference; the
    report is returned otherwise."""
    from netsim import simrun

    marker = request.node.get_closest_marker("netsim_cassette")
    cassette: dict[str, Any] = {}
    if marker is not None:
        unknown = sorted(set(marker.kwargs) - set(_CASSETTE_OPTIONS))
        if len(marker.args) != 1 or unknown:
            pytest.fail("netsim_cassette takes a path and the options "
                        f"{', '.join(_CASSETTE_OPTIONS)}, as @pytest.mark.netsim_cassette("
                        "\"api.jsonl\", mode=\"once\", allow=[\"localhost:8000\"])", pytrace=False)
        options = dict(marker.kwargs)
        path = str(request.path.parent / marker.args[0])
        mode = options.pop("mode", "once")
        cassette = {"replay": path} if mode == "none" else {"record": path, "record_mode": mode}
        cassette.update(options)

    def run(commands: Any, **options: Any) -> simrun.RunReport:
        try:
            report = simrun.run_commands(commands, **cassette, **options)
        except ValueError as e:
            pytest.fail(f"netsim_run: {e}", pytrace=False)
        if report.cassette:
            pytest.fail(f"{report.cassette}\n--- transcript ---\n{report.transcript}", pytrace=False)
        return report

    return run
