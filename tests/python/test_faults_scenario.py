"""The scenario format (netsim.scenario): units, the data the core gets, and every
mistake refused with the file, the line and the key; docs/faults.md's reference is
the parser's own table."""

from __future__ import annotations

import re
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from netsim import _units, scenario

REPO = Path(__file__).resolve().parents[2]

FULL = """\
annotate = false

[network]
delay = "20ms"
jitter = "5ms"

[tcp]
syn_retries = 3

[[host]]
name = "web"
addresses = ["10.0.0.7", "fd00::7"]
programs = ["server"]
clock_offset = "-2s"
clock_drift = "100ppm"

[[host]]
name = "laptop"
programs = ["client"]

[[link]]
between = ["web", "laptop"]
delay = "80ms"
rate = "1Mbit/s"
loss = "5%"

[[link]]
from = "laptop"
to = "*"
duplicate = "0.5%"

[[fault]]
kind = "partition"
at = "2s"
hosts = ["web"]
duration = "1.5s"
label = "cut"

[[fault]]
kind = "kill"
at = "1m"
process = "server"
restart_after = "500ms"

[[fault]]
kind = "slice"
size = "1KiB"
port = 8000
direction = "inbound"
probability = "50%"
count = 2

[[fault]]
kind = "resolve_fail"
name = "web"
error = "EAI_AGAIN"
nth = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(text))
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ValueError) as caught:
        scenario.load(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message.replace(str(tmp_path) + "/", "")


# --- units ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, nanos", [("50ms", 50_000_000), ("1.5s", 1_500_000_000),
                                         ("2m", 120_000_000_000), ("250us", 250_000), ("7ns", 7),
                                         ("1h", 3_600_000_000_000), ("0s", 0), (" 3 ms ", 3_000_000)])
def test_durations(text, nanos):
    assert _units.duration(text) == nanos


@pytest.mark.parametrize("text, count", [("64KiB", 65536), ("1MB", 1_000_000), ("1500B", 1500),
                                         (3, 3), ("1.5KiB", 1536), ("2GiB", 2 * 2**30)])
def test_sizes(text, count):
    assert _units.size(text) == count


@pytest.mark.parametrize("text, bits", [("1Mbit/s", 10**6), ("100kbit/s", 10**5), ("10MB/s", 8 * 10**7),
                                        ("1KiB/s", 8192), ("2Gbit/s", 2 * 10**9), ("9600bit/s", 9600)])
def test_rates(text, bits):
    assert _units.rate(text) == bits


@pytest.mark.parametrize("text, fraction", [("5%", 0.05), ("0.5%", 0.005), ("100%", 1.0), ("0%", 0.0)])
def test_percentages(text, fraction):
    assert _units.percent(text) == pytest.approx(fraction)


@pytest.mark.parametrize("parse, text, message", [
    (_units.duration, "5 sec", "bad duration '5 sec': write a number and a unit"),
    (_units.duration, "50", "bad duration '50'"),
    (_units.duration, 50, "a duration is a string with a unit"),
    (_units.duration, "-1s", "it cannot be negative"),
    (_units.duration, "300y", "bad duration"),
    (_units.duration, "1e12h", "longer than the simulation's clock"),
    (_units.size, "64kib", "bad size '64kib'"),
    (_units.size, -1, "non-negative"),
    (_units.size, "0.5B", "whole"),
    (_units.rate, "1Mbps", "bad rate '1Mbps'"),
    (_units.rate, "0bit/s", "above 0"),
    (_units.percent, 0.05, "a percentage is a string with a unit"),
    (_units.percent, "105%", "from 0% to 100%"),
    (_units.percent, "-1%", "from 0% to 100%"),
])
def test_bad_values_say_what_to_write(parse, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(text)


# --- the data ------------------------------------------------------------------------


def test_a_full_file_becomes_the_cores_data(tmp_path):
    loaded = scenario.load(write(tmp_path, FULL))
    data = loaded.data
    assert data["annotate"] is False
    assert data["defaults"] == {"delay": 20_000_000, "jitter": 5_000_000}
    assert data["tcp"] == {"syn_retries": 3}
    assert data["hosts"] == [
        {"name": "web", "addresses": ["10.0.0.7", "fd00::7"], "processes": ["server"],
         "clock_offset": -2_000_000_000, "clock_drift": pytest.approx(1e-4)},
        {"name": "laptop", "addresses": [], "processes": ["client"], "clock_offset": 0, "clock_drift": 0.0}]
    assert data["links"] == [
        {"a": "web", "b": "laptop", "one_way": False,
         "conditions": {"delay": 80_000_000, "rate": 10**6, "loss": pytest.approx(0.05)}},
        {"a": "laptop", "b": "*", "one_way": True, "conditions": {"duplicate": pytest.approx(0.005)}}]
    partition, kill, slice_, lookup = data["faults"]
    assert (partition["kind"], partition["when"]["at"], partition["hosts"], partition["peers"],
            partition["duration"], partition["label"]) == ("partition", 2 * 10**9, ["web"], [], 1_500_000_000, "cut")
    assert (kill["process"], kill["when"]["at"], kill["restart_after"]) == ("server", 60 * 10**9, 500_000_000)
    assert (slice_["size"], slice_["match"]["port"], slice_["match"]["direction"], slice_["when"]["probability"],
            slice_["when"]["count"], slice_["when"]["at"]) == (1024, 8000, "inbound", 0.5, 2, None)
    assert (lookup["match"]["name"], lookup["error"], lookup["when"]["nth"]) == ("web", socket.EAI_AGAIN, 1)
    assert loaded.placement == {"server": "web", "client": "laptop"}


def test_the_same_data_as_a_dict_gives_the_same_scenario(tmp_path):
    import tomllib

    from_file = scenario.load(write(tmp_path, FULL))
    from_dict = scenario.from_dict(tomllib.loads(FULL))
    assert from_dict.data == from_file.data
    assert from_dict.placement == from_file.placement


def test_an_empty_scenario_changes_nothing():
    data = scenario.from_dict({}).data
    assert data == {"annotate": True, "defaults": {}, "tcp": {}, "hosts": [], "links": [], "faults": []}


def test_programs_the_run_lacks_are_named_with_their_place(tmp_path):
    loaded = scenario.load(write(tmp_path, FULL))
    loaded.check_programs(["server", "client"])
    with pytest.raises(ValueError) as caught:
        loaded.check_programs(["server", "client-2"])
    assert str(caught.value) == (f"{tmp_path}/s.toml:19: [[host]] 2, key 'programs': no program is named "
                                 "'client' (the programs are server, client-2)")


def test_localhost_may_be_listed_to_place_programs_and_set_its_clock(tmp_path):
    loaded = scenario.load(write(tmp_path, """\
        [[host]]
        name = "localhost"
        programs = ["client"]
        clock_offset = "1s"
    """))
    assert loaded.data["hosts"][0]["name"] == "localhost"
    assert loaded.placement == {"client": "localhost"}


# --- the command line's options on top -------------------------------------------------


def test_options_add_hosts_and_override_the_network(tmp_path):
    base = scenario.load(write(tmp_path, FULL))
    merged = scenario.with_options(base, ["web=cache", "db=store"], {"delay": "1s", "loss": "10%"}, True)
    assert [(h["name"], h["processes"]) for h in merged.data["hosts"]] == [
        ("web", ["server", "cache"]), ("laptop", ["client"]), ("db", ["store"])]
    assert merged.data["defaults"] == {"delay": 10**9, "jitter": 5_000_000, "loss": pytest.approx(0.1)}
    assert merged.data["annotate"] is True
    assert base.data["defaults"] == {"delay": 20_000_000, "jitter": 5_000_000}, "the base changed"
    with pytest.raises(ValueError, match=r"^--host store: no program is named 'store'|"):
        merged.check_programs(["server", "client", "cache"])


@pytest.mark.parametrize("hosts, conditions, message", [
    (["web"], {}, "--host takes NAME=PROGRAM (e.g. --host web=server), not 'web'"),
    (["web=server", "db=server"], {}, "--host db=server: 'server' is placed on 'web' already"),
    (["w b=server"], {}, "--host w b=server: a name is one word"),
    ([], {"delay": "fast"}, "--latency fast: bad duration 'fast'"),
    ([], {"loss": "5"}, "--loss 5: bad percentage '5'"),
    ([], {"rate": "1Mbps"}, "--rate 1Mbps: bad rate"),
])
def test_bad_options_name_the_option(hosts, conditions, message):
    with pytest.raises(ValueError) as caught:
        scenario.with_options(scenario.from_dict({}), hosts, conditions)
    assert str(caught.value).startswith(message)


# --- mistakes: the file, the line, the key ---------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("seed = 4\n", "s.toml:1: key 'seed': unknown key; a scenario has annotate, network, tcp, host, link, fault"),
    ("[network]\ndelay = \"50 sec\"\n",
     "s.toml:2: [network], key 'delay': bad duration '50 sec': write a number and a unit (ns, us, ms, s, m, h), "
     "as 50ms, 1.5s or 2m"),
    ("[network]\n\nlatency = \"5ms\"\n",
     "s.toml:3: [network], key 'latency': unknown key; the keys here are delay, jitter, rate, loss, duplicate, reorder"),
    ("[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\naddresses = [\"10.0.0.300\"]\n",
     "s.toml:5: [[host]] 2, key 'addresses': not an IP address: '10.0.0.300'"),
    ("[[host]]\nname = \"a\"\naddresses = [\"127.0.0.1\"]\n",
     "s.toml:3: [[host]] 1, key 'addresses': 127.0.0.1 cannot be a host's address"),
    ("[[host]]\nprograms = [\"x\"]\n", "s.toml:1: [[host]] 1: 'name' is missing"),
    ("[[host]]\nname = \"a\"\n[[host]]\nname = \"a\"\n", "s.toml:4: [[host]] 2, key 'name': 'a' is taken"),
    ("[[host]]\nname = \"a\"\nprograms = [\"p\"]\n[[host]]\nname = \"b\"\nprograms = [\"p\"]\n",
     "s.toml:6: [[host]] 2, key 'programs': 'p' is placed on 'a' already"),
    ("[[host]]\nname = \"localhost\"\naddresses = [\"10.0.0.9\"]\n",
     "s.toml:3: [[host]] 1, key 'addresses': localhost's addresses are fixed"),
    ("[[link]]\nbetween = [\"a\", \"b\"]\n",
     "s.toml:2: [[link]] 1, key 'between': no host is named 'a' (the hosts are localhost); add a [[host]]"),
    ("[[link]]\ndelay = \"1ms\"\n", "s.toml:1: [[link]] 1: say which hosts it links"),
    ("[[link]]\nbetween = [\"localhost\"]\n", "s.toml:2: [[link]] 1, key 'between': name two hosts"),
    ("[[link]]\nbetween = [\"*\", \"*\"]\nfrom = \"*\"\nto = \"*\"\n",
     "s.toml:2: [[link]] 1, key 'between': give either between"),
    ("\n[link]\ndelay = \"1ms\"\n", "s.toml:2: key 'link': [link] is one table, but links are [[link]]"),
    ("[[fault]]\nat = \"1s\"\n", "s.toml:1: [[fault]] 1: 'kind' is missing"),
    ("[[fault]]\nkind = \"explode\"\n", "s.toml:2: [[fault]] 1, key 'kind': 'explode' is not a kind of fault; "
     "the kinds are partition, heal, hold"),
    ("[[fault]]\nkind = \"partition\"\nhosts = [\"localhost\"]\n", "s.toml:1: [[fault]] 1: 'at' is missing"),
    ("[[fault]]\nkind = \"partition\"\nat = \"1s\"\nhosts = [\"web\"]\n",
     "s.toml:4: [[fault]] 1, key 'hosts': no host is named 'web'"),
    ("[[fault]]\nkind = \"kill\"\nat = \"1s\"\nprocess = \"server\"\nsize = 3\n",
     "s.toml:5: [[fault]] 1, key 'size': unknown key; the keys here are kind, label, at, process, restart_after"),
    ("[[fault]]\nkind = \"slice\"\n", "s.toml:1: [[fault]] 1: 'size' is missing"),
    ("[[fault]]\nkind = \"slice\"\nsize = 0\n", "s.toml:3: [[fault]] 1, key 'size': it must be at least 1 byte"),
    ("[[fault]]\nkind = \"reset\"\nport = 70000\n", "s.toml:3: [[fault]] 1, key 'port': a port is a number"),
    ("[[fault]]\nkind = \"reset\"\nnth = 0\n", "s.toml:3: [[fault]] 1, key 'nth': counting starts at 1"),
    ("[[fault]]\nkind = \"reset\"\ndirection = \"up\"\n",
     "s.toml:3: [[fault]] 1, key 'direction': 'up' is not one of both, outbound, inbound"),
    ("[[fault]]\nkind = \"resolve_fail\"\nname = \"x\"\nerror = \"ENOENT\"\n",
     "s.toml:4: [[fault]] 1, key 'error': 'ENOENT' is not one of EAI_AGAIN, EAI_NONAME, EAI_FAIL"),
    ("[[fault]]\nkind = \"eintr\"\n[[fault]]\nkind = \"eintr\"\ncall = \"read\"\n",
     "s.toml:5: [[fault]] 2, key 'call': 'read' is not one of accept, connect, recv, send, poll"),
    ("[network]\ndelay = \n", "s.toml:2: not valid TOML: Invalid value (column 9)"),
    ("annotate = 1\n", "s.toml:1: key 'annotate': true or false is wanted, not 1"),
])
def test_mistakes_name_the_file_line_and_key(tmp_path, text, message):
    assert refused(tmp_path, text).startswith(message)


def test_a_missing_or_binary_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"^cannot read the scenario .*/nope.toml: No such file or directory$"):
        scenario.load(tmp_path / "nope.toml")
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"b.toml: not a TOML file \(it is not UTF-8 text\)$"):
        scenario.load(tmp_path / "b.toml")


@pytest.mark.parametrize("data, message", [
    ({"network": {"delay": "5"}}, "scenario: 'network.delay': bad duration '5'"),
    ({"fault": [{"kind": "partition", "at": "1s", "hosts": ["x"]}]}, "scenario: 'fault[0].hosts': no host is named 'x'"),
    ({"host": {"name": "a"}}, "scenario: 'host': host is a list of tables"),
    ({"bogus": 1}, "scenario: 'bogus': unknown key"),
])
def test_dict_mistakes_name_the_key_path(data, message):
    with pytest.raises(ValueError) as caught:
        scenario.from_dict(data)
    assert str(caught.value).startswith(message)


def test_a_scenario_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="a scenario is a dict or the path of a TOML file, not int"):
        scenario.of(3)


# --- the reference ---------------------------------------------------------------------


DOCS = REPO / "docs" / "faults.md"
BEGIN, END = "<!-- reference: python -m netsim.scenario -->\n", "<!-- end of reference -->\n"


def docs_with_reference() -> str:
    """docs/faults.md with its reference section made anew from the parser's tables."""
    text = DOCS.read_text()
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + scenario.reference() + END + rest.split(END, 1)[1]


def test_docs_hold_the_parsers_reference():
    assert BEGIN in DOCS.read_text() and END in DOCS.read_text()
    assert DOCS.read_text() == docs_with_reference(), \
        "docs/faults.md's reference is stale: python3 tests/python/test_faults_scenario.py --update"


def test_the_reference_lists_every_key_and_kind():
    text = scenario.reference()
    for name, (_, keys) in scenario.SECTIONS.items():
        for key in keys:
            assert f"| `{key.name}` |" in text
    for kind in scenario.FAULT_KINDS:
        assert f'#### kind = "{kind}"' in text


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {sys.argv[0]} --update   (rewrites docs/faults.md's reference)")
    DOCS.write_text(docs_with_reference())
    print("wrote", DOCS)
