"""Scenario files: the hosts, links and faults of a run, written by hand in TOML.

::

    [network]                 # every link, each host's loopback included
    delay = "20ms"

    [[host]]
    name = "web"
    programs = ["server"]

    [[host]]
    name = "laptop"
    programs = ["client"]

    [[link]]
    between = ["web", "laptop"]
    delay = "80ms"
    loss = "5%"

    [[fault]]
    kind = "partition"
    at = "2s"
    hosts = ["web"]
    duration = "10s"

``simrun --scenario FILE``, ``netsim.Simulation(scenario=FILE or dict)`` and the
pytest fixture read the same data. :data:`SECTIONS` and :data:`FAULT_KINDS` are the
whole format: the parser checks against them and docs/faults.md is made from them
(``python -m netsim.scenario`` prints that reference). Every mistake is a ValueError
naming the file, the line and the key.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
import sys
import tomllib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from netsim import _units


@dataclass(frozen=True)
class Key:
    """One key of a section: its name, the kind of value it takes and what it does."""

    name: str
    kind: str  # a key of _KINDS
    help: str
    default: str = ""
    required: bool = False


# What each kind of value looks like in the file, and how it becomes the core's.
_KINDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "duration": ('"50ms", "1.5s", "2m" (units ns, us, ms, s, m, h)', _units.duration),
    "signed duration": ('a duration, negative for back or behind: "-2s"',
                        functools.partial(_units.duration, signed=True)),
    "size": ('"64KiB", "1MB", "1500B" or a number of bytes (units B, KB, MB, GB, KiB, MiB, GiB)',
             _units.size),
    "rate": ('"100kbit/s", "1Mbit/s", "10MB/s" (bit/s, kbit/s, Mbit/s, Gbit/s, or a size per second)',
             _units.rate),
    "percentage": ('"5%", "0.5%"', _units.percent),
    "drift": ('"100ppm", "-50ppm" (parts per million)', _units.ppm),
}


def _kind(name: str, written: str):
    def register(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _KINDS[name] = (written, parse)
        return parse
    return register


@_kind("positive size", 'a size above 0: 3, "1KiB"')
def _positive_size(value: Any) -> int:
    number = _units.size(value)
    if number == 0:
        raise ValueError("it must be at least 1 byte")
    return number


@_kind("count", "a whole number, 0 or more")
def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"a whole number (0 or more) is wanted, not {value!r}")
    return value


@_kind("ordinal", "a whole number from 1: 1 is the first")
def _ordinal(value: Any) -> int:
    if _count(value) == 0:
        raise ValueError("counting starts at 1 (the first)")
    return value


@_kind("port", "a port number, 1 to 65535")
def _port(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError(f"a port is a number from 1 to 65535, not {value!r}")
    return value


@_kind("boolean", "true or false")
def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"true or false is wanted, not {value!r}")
    return value


@_kind("name", 'a word: "web"')
def _name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.\-*]+", value):
        raise ValueError(f"a name is one word of letters, digits, '.', '_' or '-', not {value!r}")
    return value


def _items(value: Any, what: str, example: str) -> list[Any]:
    """A list, or one item written without its brackets."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError(f"a list of {what} is wanted, as {example}, not {value!r}")
    return items


@_kind("names", 'a list of names: ["web", "db"] (or one name)')
def _names(value: Any) -> list[str]:
    return [_name(item) for item in _items(value, "names", '["web", "db"]')]


def _address(text: Any) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"not an IP address: {text!r}") from None
    if address.is_loopback or address.is_unspecified:
        raise ValueError(f"{text} cannot be a host's address (every host has its own loopback)")
    return str(address)


@_kind("addresses", 'a list of IPv4 or IPv6 addresses: ["10.0.0.2", "fd00::2"]')
def _addresses(value: Any) -> list[str]:
    return [_address(item) for item in _items(value, "addresses", '["10.0.0.2"]')]


@_kind("text", "a string")
def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a string is wanted, not {value!r}")
    return value


def _choice(name: str, choices: tuple[str, ...]) -> None:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
        return value
    _KINDS[name] = (" or ".join(f'"{c}"' for c in choices), parse)


_DIRECTIONS = ("both", "outbound", "inbound")
_CALLS = ("accept", "connect", "recv", "send", "poll")
_LOOKUP_ERRORS = {"EAI_AGAIN": socket.EAI_AGAIN, "EAI_NONAME": socket.EAI_NONAME,
                  "EAI_FAIL": socket.EAI_FAIL}
_choice("direction", _DIRECTIONS)
_choice("call", _CALLS)
_choice("lookup error", tuple(_LOOKUP_ERRORS))


# --- the format ----------------------------------------------------------------

_CONDITIONS = (
    Key("delay", "duration", "one-way latency (netem delay)", "0s"),
    Key("jitter", "duration", "each packet's delay is drawn from delay - jitter to delay + jitter, "
        "from the run's seed", "0s"),
    Key("rate", "rate", "bandwidth: a packet takes its size over the rate to leave (netem rate)",
        "unlimited"),
    Key("loss", "percentage", "datagrams lost; on TCP a lost segment is sent again after the "
        "retransmission timeout, so loss shows as delay", "0%"),
    Key("duplicate", "percentage", "datagrams delivered twice", "0%"),
    Key("reorder", "percentage", "datagrams sent without the delay, so they overtake", "0%"),
)

SECTIONS: dict[str, tuple[str, tuple[Key, ...]]] = {
    "": ("The top level of the file.", (
        Key("annotate", "boolean", 'a "netsim: ..." line in the transcript where each fault '
            "fires (simrun --no-annotate turns it off)", "true"),
    )),
    "network": ("`[network]`: the conditions of every link, each host's loopback included "
                "(simrun's --latency, --jitter, --rate and --loss set these). A `[[link]]` "
                "overrides them for its hosts.", _CONDITIONS),
    "tcp": ("`[tcp]`: the simulated TCP's retransmissions, Linux's defaults unless given.", (
        Key("rto_initial", "duration", "the first retransmission timeout (and the SYN's)", "1s"),
        Key("rto_min", "duration", "the least retransmission timeout (TCP_RTO_MIN)", "200ms"),
        Key("rto_max", "duration", "the longest retransmission timeout (TCP_RTO_MAX)", "120s"),
        Key("syn_retries", "count", "SYNs sent again before connect fails with ETIMEDOUT "
            "(net.ipv4.tcp_syn_retries)", "6"),
        Key("retries", "count", "retransmissions before a cut connection fails with ETIMEDOUT "
            "(net.ipv4.tcp_retries2)", "15"),
    )),
    "host": ("`[[host]]`, one per machine: its programs run there, its name resolves to its "
             "addresses, and it has its own loopback. Programs on no host run on `localhost` "
             "(10.0.0.1), which a `[[host]]` may name to place programs or set its clock.", (
        Key("name", "name", "the host's name, hostname and the name lookups resolve", required=True),
        Key("addresses", "addresses", "its addresses", "the next free 10.0.0.N and fd00::N"),
        Key("programs", "names", "the programs placed on it, by the names the transcript shows "
            "(simrun --host NAME=PROGRAM adds one)", "none"),
        Key("clock_offset", "signed duration", "its wall clock reads this much ahead (negative: behind)",
            "0s"),
        Key("clock_drift", "drift", "its clocks gain this much per second of elapsed time", "0ppm"),
    )),
    "link": ("`[[link]]`, one per pair of hosts (`*`: every host; a host with itself: its "
             "loopback): the conditions between them, both ways with `between`, one way with "
             "`from` and `to`. Keys not given are `[network]`'s.", (
        Key("between", "names", "the two hosts, both directions: [\"web\", \"laptop\"]"),
        Key("from", "name", "one way only: the sending host (with `to`)"),
        Key("to", "name", "one way only: the receiving host (with `from`)"),
        *_CONDITIONS,
    )),
    "fault": ("`[[fault]]`, one per fault: what happens (`kind`), when, and to what. "
              "The keys each kind takes are listed below.", ()),
}

_WHEN = (
    Key("at", "duration", "the virtual time it fires at (with an event trigger: the first "
        "match from then on)"),
    Key("nth", "ordinal", "fire on the Nth matching connection, call or lookup (1: the first)"),
    Key("probability", "percentage", "each match fires with this chance, drawn from the run's seed",
        "100%"),
    Key("count", "count", "fire at most this many times", "every match"),
)
_AFTER = Key("after", "size", "fire once this many bytes have crossed the matched connection")
# A connection is seen from the end that connected: its host is the client's.
_MATCH = (
    Key("host", "name", "connections made from this host (the client's)", "any"),
    Key("peer", "name", "connections made to this host (the server's)", "any"),
    Key("process", "name", "the connections (or calls) of this program", "any"),
    Key("port", "port", "connections to this server port", "any"),
    Key("direction", "direction", "the bytes that count: sent by the client (outbound), "
        "sent to it (inbound) or both", "both"),
)
_TIMED_AT = Key("at", "duration", "the virtual time it fires at", required=True)
_HOSTS = Key("hosts", "names", "the hosts on one side", required=True)
_PEERS = Key("peers", "names", "the hosts on the other side", "every other host")
_ONE_WAY = Key("one_way", "boolean", "only what goes from `hosts` to `peers`", "false")
_PROCESS = Key("process", "name", "the program, by its name in the transcript", required=True)
_SIZE = Key("size", "positive size", "the most bytes per call", required=True)
_UNDONE = Key("duration", "duration", "undone after this long", "until undone")

FAULT_KINDS: dict[str, tuple[str, tuple[Key, ...]]] = {
    "partition": ("cut `hosts` off from `peers`: nothing crosses (Jepsen, turmoil)",
                  (_TIMED_AT, _HOSTS, _PEERS, _ONE_WAY, _UNDONE)),
    "heal": ("undo the partitions (all, or those between `hosts` and `peers`)",
             (_TIMED_AT, Key("hosts", "names", "one side", "every host"), _PEERS)),
    "hold": ("keep what enters the links between `hosts` and `peers`; deliver nothing (turmoil)",
             (_TIMED_AT, _HOSTS, _PEERS, _ONE_WAY, _UNDONE)),
    "release": ("deliver what `hold` kept, in order",
                (_TIMED_AT, Key("hosts", "names", "one side", "every host"), _PEERS)),
    "kill": ("SIGKILL a program; its ports are free at once",
             (_TIMED_AT, _PROCESS, Key("restart_after", "duration",
                                       "start it again, under the same name, after this long",
                                       "never"))),
    "pause": ("SIGSTOP a program: it runs nothing, its sockets still receive",
              (_TIMED_AT, _PROCESS, _UNDONE)),
    "resume": ("SIGCONT a paused program", (_TIMED_AT, _PROCESS)),
    "clock_jump": ("step the hosts' wall clocks (monotonic clocks do not jump)",
                   (_TIMED_AT, _HOSTS, Key("amount", "signed duration", "how far: \"-5s\" goes back",
                                           required=True))),
    "refuse": ("connect fails with ECONNREFUSED", (*_MATCH, *_WHEN)),
    "reset": ("the connection is reset: the peer's next call fails with ECONNRESET "
              "(Toxiproxy's reset_peer)", (*_MATCH, *_WHEN, _AFTER)),
    "close": ("the connection is closed cleanly: the peer reads end of file", (*_MATCH, *_WHEN, _AFTER)),
    "blackhole": ("nothing more arrives on the connection; the sender's buffer fills "
                  "(Toxiproxy's timeout)", (*_MATCH, *_WHEN, _AFTER)),
    "slice": ("recv returns at most `size` bytes at a time (Toxiproxy's slicer)",
              (*_MATCH, *_WHEN, _SIZE)),
    "partial_write": ("send accepts at most `size` bytes at a time", (*_MATCH, *_WHEN, _SIZE)),
    "eintr": ("the matched blocking call fails with EINTR", (
        *_MATCH, *_WHEN, Key("call", "call", "the call: " + ", ".join(_CALLS), "any blocking call"))),
    "resolve_fail": ("name lookups fail", (
        Key("name", "text", "the name looked up", required=True),
        Key("error", "lookup error", "what getaddrinfo returns", "EAI_NONAME"),
        Key("host", "name", "lookups made on this host", "any"),
        Key("process", "name", "lookups made by this program", "any"),
        *_WHEN)),
}
_FAULT_COMMON = (
    Key("kind", "text", "what the fault does: " + ", ".join(FAULT_KINDS), required=True),
    Key("label", "text", "its name in the transcript's annotation", "the kind"),
)
_ARRAYS = ("host", "link", "fault")
# The name of the host of the programs no [[host]] places.
DEFAULT_HOST = "localhost"


# --- where a key is written --------------------------------------------------------


class _Source:
    """Names the place of a key in the error messages: FILE:LINE for a file (tomllib
    gives no lines, so a small scan of the text finds them), the dict's path for a
    dict."""

    _HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
    _KEY = re.compile(r"\s*[\"']?([A-Za-z0-9_\-]+)[\"']?\s*=")

    def __init__(self, path: str | None, text: str = "") -> None:
        self.path = path
        self.lines: dict[tuple[str, int, str], int] = {}
        section, index, counts = "", 0, {}
        for number, line in enumerate(text.splitlines(), 1):
            if header := self._HEADER.match(line):
                section = header[2]
                if header[1] == "[[":
                    counts[section] = counts.get(section, 0) + 1
                index = counts.get(section, 1) - 1
                self.lines.setdefault((section, index, ""), number)
            elif key := self._KEY.match(line):
                self.lines.setdefault((section, index, key[1]), number)

    def where(self, section: str, index: int, key: str) -> str:
        if self.path is None:
            place = f"{section}[{index}]" if section in _ARRAYS else section
            shown = f"{place}.{key}" if place and key else (place or key)
            return f"scenario: {shown!r}"
        # A key of the top level may be a table: its header's line.
        line = (self.lines.get((section, index, key)) or self.lines.get((section, index, ""))
                or self.lines.get((key, 0, ""), 1))
        place = f"[[{section}]] {index + 1}" if section in _ARRAYS else (f"[{section}]" if section else "")
        shown = f"{place}, key {key!r}" if place and key else (place or f"key {key!r}")
        return f"{self.path}:{line}: {shown}"

    def error(self, section: str, index: int, key: str, problem: str) -> ValueError:
        return ValueError(f"{self.where(section, index, key)}: {problem}")


# --- reading -----------------------------------------------------------------------


@dataclass
class Scenario:
    """A checked scenario. ``data`` is what the core's Scenario is made of
    (python/src/scenario_binding.cpp); the rest finds the programs' hosts and names
    the place of a host or program that a run does not have."""

    data: dict[str, Any]
    source: str = "scenario"
    # program -> host, and where each program is named (to name that place if no
    # process has the name)
    placement: dict[str, str] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)

    def host_of(self, program: str) -> str | None:
        return self.placement.get(program)

    def check_programs(self, names: list[str]) -> None:
        """Raises ValueError for the first program the scenario names that the run
        does not have, naming where it is written."""
        for program, where in self.programs.items():
            if program not in names:
                shown = ", ".join(names) if names else "none"
                raise ValueError(f"{where}: no program is named {program!r} (the programs are {shown})")


def with_options(scenario: Scenario, hosts: list[str] = (), conditions: Mapping[str, str] | None = None,
                 annotate: bool | None = None) -> Scenario:
    """The scenario with simrun's options on top: ``hosts`` as ``--host NAME=PROGRAM``
    (a host that the scenario lacks is added), ``conditions`` as ``--latency``... in
    the file's words ({"delay": "50ms"}: every link, loopback included), ``annotate``
    unless None. Raises ValueError naming the option."""
    data = {**scenario.data, "hosts": [dict(host) for host in scenario.data["hosts"]],
            "defaults": dict(scenario.data["defaults"])}
    merged = Scenario(data, scenario.source, dict(scenario.placement), dict(scenario.programs))
    for pair in hosts:
        name, equals, program = pair.partition("=")
        if not (name and equals and program):
            raise ValueError(f"--host takes NAME=PROGRAM (e.g. --host web=server), not {pair!r}")
        for text in (name, program):
            try:
                _name(text)
            except ValueError as e:
                raise ValueError(f"--host {pair}: {e}") from None
        if program in merged.placement and merged.placement[program] != name:
            raise ValueError(f"--host {pair}: {program!r} is placed on {merged.placement[program]!r} "
                             "already: a program runs on one host")
        merged.placement[program] = name
        merged.programs.setdefault(program, f"--host {pair}")
        host = next((h for h in data["hosts"] if h["name"] == name), None)
        if host is None:
            host = {"name": name, "addresses": [], "processes": [], "clock_offset": 0, "clock_drift": 0.0}
            data["hosts"].append(host)
        if program not in host["processes"]:
            host["processes"] = [*host["processes"], program]
    for key, text in (conditions or {}).items():
        parse = _KINDS[next(k.kind for k in _CONDITIONS if k.name == key)][1]
        try:
            data["defaults"][key] = parse(text)
        except ValueError as e:
            raise ValueError(f"--{_OPTIONS[key]} {text}: {e}") from None
    if annotate is not None:
        data["annotate"] = annotate
    return merged


# simrun's option for each of [network]'s keys.
_OPTIONS = {"delay": "latency", "jitter": "jitter", "rate": "rate", "loss": "loss"}


def load(path: str | os.PathLike[str]) -> Scenario:
    """Reads and checks a scenario file. Raises ValueError naming the file, the line
    and the key of the first mistake."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ValueError(f"cannot read the scenario {path}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a TOML file (it is not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        line = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if line:
            message = message[:line.start()].rstrip() + f" (column {line[2]})"
        raise ValueError(f"{path}:{line[1] if line else 1}: not valid TOML: {message}") from None
    return _check(data, _Source(path, text))


def from_dict(data: Mapping[str, Any]) -> Scenario:
    """Checks a scenario given as a dict shaped as the file (``{"network": {"delay":
    "50ms"}, "host": [...], "link": [...], "fault": [...]}``). Raises ValueError."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a scenario is a dict or the path of a TOML file, not {type(data).__name__}")
    return _check(dict(data), _Source(None))


def of(scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str] | None) -> Scenario:
    """A Scenario from what Simulation(scenario=...) and the fixture take."""
    if scenario is None:
        return from_dict({})
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        return load(scenario)
    return from_dict(scenario)


def _check(raw: dict[str, Any], source: _Source) -> Scenario:
    known = [key.name for key in SECTIONS[""][1]] + ["network", "tcp", *_ARRAYS]
    for key in raw:
        if key not in known:
            raise source.error("", 0, key, f"unknown key; a scenario has {', '.join(known)}")
    if isinstance(raw.get("link"), dict):
        raise source.error("", 0, "link", "[link] is one table, but links are [[link]] with "
                           "between = [\"a\", \"b\"]; the conditions of every link go in [network]")
    top = _table({k: v for k, v in raw.items() if k not in SECTIONS}, "", 0, SECTIONS[""][1], source)
    scenario = Scenario(data={
        "annotate": top.get("annotate", True),
        "defaults": _table(_section(raw, "network", source), "network", 0, _CONDITIONS, source),
        "tcp": _table(_section(raw, "tcp", source), "tcp", 0, SECTIONS["tcp"][1], source),
        "hosts": [], "links": [], "faults": [],
    }, source=source.path or "scenario")
    hosts, seen = [DEFAULT_HOST], set()
    for index, table in enumerate(_array(raw, "host", source)):
        host = _table(table, "host", index, SECTIONS["host"][1], source)
        if host["name"] == DEFAULT_HOST and "addresses" in host:
            raise source.error("host", index, "addresses", "localhost's addresses are fixed "
                               "(10.0.0.1, fd00::1): give the host another name for addresses "
                               "of its own")
        if host["name"] in seen or host["name"] == "*":
            raise source.error("host", index, "name", f"{host['name']!r} is taken: give each host "
                               "its own name")
        seen.add(host["name"])
        if host["name"] != DEFAULT_HOST:
            hosts.append(host["name"])
        for program in host.get("programs", []):
            if program in scenario.placement:
                raise source.error("host", index, "programs", f"{program!r} is placed on "
                                   f"{scenario.placement[program]!r} already: a program runs on one host")
            scenario.placement[program] = host["name"]
            scenario.programs.setdefault(program, source.where("host", index, "programs"))
        scenario.data["hosts"].append({
            "name": host["name"], "addresses": host.get("addresses", []),
            "processes": host.get("programs", []), "clock_offset": host.get("clock_offset", 0),
            "clock_drift": host.get("clock_drift", 0.0)})
    scenario.data["links"] = [_link(table, index, hosts, source)
                              for index, table in enumerate(_array(raw, "link", source))]
    scenario.data["faults"] = [_fault(table, index, hosts, scenario, source)
                               for index, table in enumerate(_array(raw, "fault", source))]
    return scenario


def _section(raw: dict[str, Any], name: str, source: _Source) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise source.error("", 0, name, f"[{name}] is a table of keys, not {value!r}")
    return value


def _array(raw: dict[str, Any], name: str, source: _Source) -> list[dict[str, Any]]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise source.error("", 0, name, f"{name} is a list of tables, written [[{name}]]")
    return value


def _table(table: dict[str, Any], section: str, index: int, keys: tuple[Key, ...],
           source: _Source) -> dict[str, Any]:
    """The table's values in the core's units, after checking that every key is
    known, every required key there and every value well written."""
    by_name = {key.name: key for key in keys}
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = by_name.get(name)
        if key is None:
            raise source.error(section, index, name, f"unknown key; the keys here are {', '.join(by_name)}")
        try:
            out[name] = _KINDS[key.kind][1](value)
        except ValueError as e:
            raise source.error(section, index, name, str(e)) from None
    for key in keys:
        if key.required and key.name not in out:
            raise source.error(section, index, "", f"{key.name!r} is missing ({key.help})")
    return out


def _host_name(name: str, hosts: list[str], section: str, index: int, key: str, source: _Source,
               star: bool = False) -> str:
    if name not in hosts and not (star and name == "*"):
        raise source.error(section, index, key, f"no host is named {name!r} (the hosts are "
                           f"{', '.join(hosts)}); add a [[host]] with that name")
    return name


def _link(table: dict[str, Any], index: int, hosts: list[str], source: _Source) -> dict[str, Any]:
    link = _table(table, "link", index, SECTIONS["link"][1], source)
    if "between" in link:
        if "from" in link or "to" in link:
            raise source.error("link", index, "between", "give either between (both ways) or "
                               "from and to (one way), not both")
        if len(link["between"]) != 2:
            raise source.error("link", index, "between", "name two hosts: between = [\"a\", \"b\"]")
        a, b = link["between"]
        key = "between"
    elif "from" in link and "to" in link:
        a, b, key = link["from"], link["to"], "from"
    else:
        raise source.error("link", index, "", "say which hosts it links: between = [\"a\", \"b\"] "
                           "(both ways), or from = \"a\" and to = \"b\" (one way)")
    for name in (a, b):
        _host_name(name, hosts, "link", index, key, source, star=True)
    return {"a": a, "b": b, "one_way": "between" not in link,
            "conditions": {k.name: link[k.name] for k in _CONDITIONS if k.name in link}}


def _fault(table: dict[str, Any], index: int, hosts: list[str], scenario: Scenario,
           source: _Source) -> dict[str, Any]:
    kind = table.get("kind")
    if kind not in FAULT_KINDS:
        problem = (f"{kind!r} is not a kind of fault" if "kind" in table
                   else "'kind' is missing (what the fault does)")
        raise source.error("fault", index, "kind" if "kind" in table else "",
                           f"{problem}; the kinds are {', '.join(FAULT_KINDS)}")
    fault = _table(table, "fault", index, _FAULT_COMMON + FAULT_KINDS[kind][1], source)
    for key in ("hosts", "peers", "host", "peer"):
        for name in ([fault[key]] if isinstance(fault.get(key), str) else fault.get(key, [])):
            _host_name(name, hosts, "fault", index, key, source)
    if "process" in fault:
        scenario.programs.setdefault(fault["process"], source.where("fault", index, "process"))
    when = {"at": fault.get("at"), "nth": fault.get("nth"), "after_bytes": fault.get("after"),
            "probability": fault.get("probability", 1.0), "count": fault.get("count")}
    match = {"host": fault.get("host", ""), "peer": fault.get("peer", ""),
             "process": fault.get("process", "") if kind not in ("kill", "pause", "resume") else "",
             "port": fault.get("port"), "direction": fault.get("direction", "both"),
             "call": fault.get("call", ""), "name": fault.get("name", "")}
    return {"kind": kind, "when": when, "hosts": fault.get("hosts", []), "peers": fault.get("peers", []),
            "one_way": fault.get("one_way", False),
            "process": fault.get("process", "") if kind in ("kill", "pause", "resume") else "",
            "duration": fault.get("duration"), "restart_after": fault.get("restart_after"),
            "match": match, "size": fault.get("size", 0),
            "error": _LOOKUP_ERRORS[fault.get("error", "EAI_NONAME")] if kind == "resolve_fail" else 0,
            "amount": fault.get("amount", 0), "label": fault.get("label", "")}


# --- the reference -------------------------------------------------------------------


def reference() -> str:
    """The scenario reference in Markdown, made from the tables the parser checks
    against (docs/faults.md holds it; a test keeps the two equal)."""
    out = []

    def rows(keys: tuple[Key, ...]) -> None:
        out.append("| key | value | what | default |")
        out.append("| --- | --- | --- | --- |")
        for key in keys:
            default = "required" if key.required else (key.default or "none")
            out.append(f"| `{key.name}` | {key.kind} | {key.help} | {default} |")
        out.append("")

    for name, (text, keys) in SECTIONS.items():
        out.append(f"### {'Top level' if not name else (f'[[{name}]]' if name in _ARRAYS else f'[{name}]')}")
        out.append("")
        out.append(text)
        out.append("")
        if name == "fault":
            rows(_FAULT_COMMON)
            for kind, (what, keys) in FAULT_KINDS.items():
                out.append(f"#### kind = \"{kind}\"")
                out.append("")
                out.append(what[0].upper() + what[1:] + ".")
                out.append("")
                rows(keys)
        else:
            rows(keys)
    out.append("### Values")
    out.append("")
    out.append("| value | written |")
    out.append("| --- | --- |")
    for kind, (written, _) in _KINDS.items():
        out.append(f"| {kind} | {written} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
