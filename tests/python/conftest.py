import pytest

import netsim
from netsim import _core


def pytest_configure(config):
    config.addinivalue_line("markers", "simrun: the test runs programs under simrun")


def pytest_collection_modifyitems(config, items):
    """A build without the shim (CMake's NETSIM_SHIM=OFF) has no simrun: its tests
    (marked simrun, and the files test_simrun_*.py and test_explore.py, whose
    schedules are explored under simrun) are skipped there, saying so, and run in
    every other build."""
    if _core.has_simrun:
        return
    skip = pytest.mark.skip(reason="this netsim was built without simrun (NETSIM_SHIM=OFF)")
    for item in items:
        name = item.path.name
        if name.startswith("test_simrun_") or name == "test_explore.py" or item.get_closest_marker("simrun"):
            item.add_marker(skip)


@pytest.fixture
def run_many():
    """run_many(make, times) runs make() -> Simulation `times` times and returns the
    results, after checking that every run gave the same transcript and trace."""

    def run(make, times=20):
        results = [make().run() for _ in range(times)]
        first = results[0]
        for other in results[1:]:
            assert other.transcript_bytes == first.transcript_bytes
            assert other.trace_jsonl == first.trace_jsonl
        return first

    return run
