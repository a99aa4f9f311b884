import pytest

import netsim


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
