"""examples/cassettes: the committed cassette replays the saved transcript through
the pytest plugin's netsim_cassette marker, the same on every run, and a client that
asks for something else fails with the first difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim import simrun

pytestmark = pytest.mark.simrun
pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cassettes"


@pytest.mark.netsim_cassette("../../examples/cassettes/weather.jsonl", mode="none", match="http")
def test_the_weather_example_replays_its_transcript(netsim_run, monkeypatch):
    monkeypatch.chdir(EXAMPLE)
    saved = (EXAMPLE / "forecast.transcript").read_bytes()
    for _ in range(5):
        assert netsim_run(["forecast.py"]).transcript_bytes == saved


def test_asking_for_another_city_is_a_difference(tmp_path, monkeypatch):
    client = tmp_path / "forecast.py"
    client.write_text((EXAMPLE / "forecast.py").read_text().replace('"Lima"', '"Rome"'))
    monkeypatch.chdir(tmp_path)
    report = simrun.run_commands(["forecast.py"], replay=str(EXAMPLE / "weather.jsonl"), match="http")
    assert report.cassette == (
        "cassette: connection 1 (the 1st to localhost:8765) differs from the recording in request 2, "
        "line 1: expected \"GET /forecast?city=Lima HTTP/1.1\", got \"GET /forecast?city=Rome HTTP/1.1\"")
    assert report.transcript.startswith("forecast: Paris: rain, up to 11 C (HTTP 200, ")
    assert "ConnectionError" in report.transcript  # the program saw the connection close


USER_TESTS = '''
import pytest

CASSETTE = {cassette!r}

@pytest.mark.netsim_cassette(CASSETTE, mode="none", match="http")
def test_same_cities(netsim_run):
    assert "Lima: sun" in netsim_run([{client!r}]).transcript

@pytest.mark.netsim_cassette(CASSETTE, mode="none", match="http")
def test_another_city(netsim_run):
    netsim_run([{other!r}])
'''


def test_the_marker_fails_a_test_with_the_first_difference(pytester, tmp_path):
    other = tmp_path / "rome.py"
    other.write_text((EXAMPLE / "forecast.py").read_text().replace('"Lima"', '"Rome"'))
    pytester.makepyfile(test_user=USER_TESTS.format(cassette=str(EXAMPLE / "weather.jsonl"),
                                                    client=str(EXAMPLE / "forecast.py"), other=str(other)))
    result = pytester.runpytest("-p", "netsim.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*cassette: connection 1 (the 1st to localhost:8765) differs from the "
                                 "recording in request 2, line 1*", "--- transcript ---",
                                 "rome: Paris: rain*"])
