"""Cassettes (docs/cassettes.md): the file format, the record modes, masking, and the
services of a run. What a run does with them (relaying, playing, matching) is the
core's (core/src/cassette*.cpp); this module reads and writes the file and says
which services the core serves and how."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

VERSION = 1
MODES = ("once", "none", "all", "new_episodes")
MATCHES = ("bytes", "http")
# Headers that differ between two runs of the same client and say nothing about what
# it asks for (VCR.py matches on method and URI, and ignores every header).
DEFAULT_IGNORED = ("date", "user-agent")
_SERVICE = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>[0-9]{1,5})")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


# The options' names in errors, as Python's keywords spell them (simrun's are --record...).
API_NAMES = {"record": "record", "replay": "replay", "record_mode": "record_mode", "allow": "allow",
             "match": "match", "record_server": "record_server"}


class CassetteError(ValueError):
    """A cassette or a cassette option that cannot be used: one line saying why."""


@dataclass
class Conversation:
    service: str
    # (from_client, bytes, closed, virtual ns since the start)
    chunks: list[tuple[bool, bytes, bool, int]] = field(default_factory=list)


@dataclass
class Cassette:
    services: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)  # headers whose values are masked
    lookups: dict[str, list[str]] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)


@dataclass
class Plan:
    """What one run does with a cassette: record (services relayed to the real ones),
    play, or both (new_episodes)."""
    path: str
    mode: str
    match: str
    ignored: list[str]
    masks: list[str]
    patterns: list[re.Pattern[bytes]]
    recording: bool
    cassette: Cassette
    # The services that are simulated servers of the run, recorded as they answer.
    servers: list[str] = field(default_factory=list)


def parse_service(text: str, option: str = "--allow") -> tuple[str, int]:
    """HOST:PORT ("api.example.com:443", "127.0.0.1:8000", "[::1]:8000")."""
    m = _SERVICE.fullmatch(text)
    port = int(m["port"]) if m else 0
    if not m or not 0 < port < 65536:
        raise CassetteError(f"{option} takes HOST:PORT (e.g. {option} api.example.com:80), not {text!r}")
    return m["host"].strip("[]"), port


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- the file -------------------------------------------------------------------

def _payload(data: bytes) -> dict[str, str]:
    """Text when the bytes are printable UTF-8 (line ends and tabs included), else base64."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return {"text": text}
    return {"base64": base64.b64encode(data).decode("ascii")}


def dumps(cassette: Cassette) -> str:
    """The cassette as JSON lines: a header, the lookups, then each connection's records
    in order, one connection after another (so a diff shows one conversation's change
    in one place)."""
    header: dict[str, Any] = {"netsim_cassette": VERSION, "services": cassette.services}
    if cassette.masked:
        header["masked_headers"] = cassette.masked
    lines = [header]
    lines += [{"lookup": name, "addresses": addresses} for name, addresses in sorted(cassette.lookups.items())]
    for number, conversation in enumerate(cassette.conversations, 1):
        lines.append({"connection": number, "service": conversation.service})
        for from_client, data, closed, ns in conversation.chunks:
            record: dict[str, Any] = {"connection": number, "from": "client" if from_client else "server",
                                      "at": f"{ns // 10**9}.{ns % 10**9:09d}"}
            record.update({"close": True} if closed else _payload(data))
            lines.append(record)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def loads(text: str, where: str) -> Cassette:
    """Reads a cassette; raises CassetteError naming the file and line."""
    cassette = Cassette()
    by_number: dict[int, Conversation] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        here = f"{where}, line {number}"
        try:
            record = json.loads(line)
        except ValueError as e:
            raise CassetteError(f"{here}: not JSON ({e.msg}); a cassette is one JSON object a line") from None
        if not isinstance(record, dict):
            raise CassetteError(f"{here}: a JSON object is wanted, not {line[:40]!r}")
        if number == 1:
            version = record.get("netsim_cassette")
            if version != VERSION:
                raise CassetteError(f"{where}: not a netsim cassette of version {VERSION} (its first line "
                                    f"has netsim_cassette: {version!r}); record it again with this netsim")
            cassette.services = [str(s) for s in record.get("services", [])]
            cassette.masked = [str(h) for h in record.get("masked_headers", [])]
            continue
        try:
            if "lookup" in record:
                cassette.lookups[str(record["lookup"])] = [str(a) for a in record["addresses"]]
            elif "service" in record:
                by_number[int(record["connection"])] = Conversation(str(record["service"]))
                cassette.conversations.append(by_number[int(record["connection"])])
            else:
                conversation = by_number[int(record["connection"])]
                seconds, _, fraction = str(record["at"]).partition(".")
                ns = int(seconds) * 10**9 + int((fraction + "000000000")[:9])
                closed = bool(record.get("close", False))
                data = (b"" if closed else record["text"].encode("utf-8") if "text" in record
                        else base64.b64decode(record["base64"], validate=True))
                conversation.chunks.append((record["from"] == "client", data, closed, ns))
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            raise CassetteError(f"{here}: a record this version does not read ({type(e).__name__}: {e})") from None
    if not lines:
        raise CassetteError(f"{where}: empty; record it again (--record-mode all)")
    return cassette


def load(path: str) -> Cassette:
    try:
        with open(path, encoding="utf-8") as f:
            return loads(f.read(), path)
    except OSError as e:
        raise CassetteError(f"cannot read the cassette {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise CassetteError(f"{path}: not UTF-8 text, so not a cassette") from None


def save(path: str, cassette: Cassette) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(cassette))


# --- masking ----------------------------------------------------------------------

def _mask_stream(data: bytes, headers: Sequence[str], patterns: Sequence[re.Pattern[bytes]],
                 from_client: bool) -> bytes:
    """Header values and pattern matches replaced by as many '*': lengths stay, so a
    Content-Length or a chunk size still frames what follows."""
    def stars(m: re.Match[bytes]) -> bytes:
        return m[1] + b"*" * len(m[2])

    for name in headers:
        data = re.sub(rb"(?im)^(" + re.escape(name.encode()) + rb"[ \t]*:[ \t]*)([^\r\n]*)", stars, data)
    if not from_client:
        for pattern in patterns:
            data = pattern.sub(lambda m: b"*" * len(m[0]), data)
    return data


def mask(conversation: Conversation, headers: Sequence[str], patterns: Sequence[re.Pattern[bytes]]) -> Conversation:
    """The conversation as the cassette keeps it: each direction masked as one stream
    (a header split between two sends is masked too), cut where it was cut."""
    out = Conversation(conversation.service)
    masked = {}
    for side in (True, False):
        stream = b"".join(data for from_client, data, _, _ in conversation.chunks if from_client == side)
        masked[side] = _mask_stream(stream, headers, patterns, side)
    offsets = {True: 0, False: 0}
    for from_client, data, closed, ns in conversation.chunks:
        start = offsets[from_client]
        offsets[from_client] += len(data)
        out.chunks.append((from_client, masked[from_client][start:start + len(data)], closed, ns))
    return out


# --- a run ------------------------------------------------------------------------

def plan(path: str, mode: str, allow: Iterable[str], match: str, ignore: Iterable[str],
         masks: Iterable[str], patterns: Iterable[str], servers: Iterable[str] = (),
         names: dict[str, str] = API_NAMES) -> Plan:
    """Checks the options and reads the cassette the mode needs. ``servers``: the
    simulated servers to record (--record-server). Raises CassetteError."""
    if mode not in MODES:
        raise CassetteError(f"--record-mode takes one of {', '.join(MODES)}, not {mode!r}")
    if match not in MATCHES:
        raise CassetteError(f"--match takes one of {', '.join(MATCHES)}, not {match!r}")
    masks = list(masks)
    for name in [*masks, *ignore]:
        if not _HEADER_NAME.fullmatch(name):
            raise CassetteError(f"not a header name: {name!r} (e.g. --mask Authorization)")
    if masks and match != "http":
        raise CassetteError("--mask needs --match http: a masked request header no longer matches the "
                            "program's own bytes exactly, so it is ignored when matching request by request")
    compiled = []
    for text in patterns:
        try:
            compiled.append(re.compile(text.encode()))
        except re.error as e:
            raise CassetteError(f"--mask-pattern {text!r}: not a regular expression ({e})") from None
    exists = os.path.exists(path)
    if mode == "none" and not exists:
        raise CassetteError(f"no cassette {path} to replay; record it first (--record {path})")
    recording = mode in ("all", "new_episodes") or (mode == "once" and not exists)
    cassette = Cassette() if mode == "all" or not exists else load(path)
    services = list(cassette.services)
    for text in allow:
        host, port = parse_service(text)
        name = f"{host}:{port}"
        if name not in services:
            services.append(name)
    simulated = _servers(servers, services, mode, names)
    services += simulated
    if recording and not services:
        raise CassetteError("nothing to record: name the services the programs may reach with "
                            "--allow HOST:PORT (e.g. --allow localhost:8000), or the simulated servers "
                            "with --record-server HOST:PORT")
    cassette.services = services
    if cassette.masked and match != "http":
        raise CassetteError(f"{path} masks the headers {', '.join(cassette.masked)}: replay it with --match "
                            "http, which leaves them out of the matching")
    cassette.masked = sorted({*cassette.masked, *masks}, key=str.lower)
    return Plan(path, mode, match, sorted({*DEFAULT_IGNORED, *(h.lower() for h in ignore),
                                           *(h.lower() for h in cassette.masked)}),
                masks, compiled, recording, cassette, simulated)


def _servers(texts: Iterable[str], services: list[str], mode: str, names: dict[str, str]) -> list[str]:
    """The names of the simulated servers to record, checked against the services."""
    out = []
    for text in texts:
        host, port = parse_service(text, names["record_server"])
        name = f"{host}:{port}"
        if name in services:
            raise CassetteError(f"{name} is both a real service ({names['allow']}) and a simulated server "
                                f"({names['record_server']}): name it once")
        if name not in out:
            out.append(name)
    if out and mode != "all":
        # A replayed service would listen where the server itself must.
        raise CassetteError(f"{names['record_server']} records its server's connections anew, with "
                            f"{names['record_mode']} all (the default with {names['record']}), not {mode}; "
                            f"replay the cassette with {names['replay']} and the clients alone")
    return out


def lookup(host: str, port: int) -> list[str]:
    """The real addresses of an allowed service: the one real lookup of the run."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise CassetteError(f"--allow {host}:{port}: cannot look up {host}: {e.strerror}") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def core_options(plan: Plan) -> dict[str, Any]:
    """The core's cassette data (python/src/cassette_binding.cpp); records real lookups
    into the cassette when recording."""
    services = []
    for name in plan.cassette.services:
        host, port = parse_service(name)
        real = None
        if plan.recording and name not in plan.servers:
            addresses = [host] if _literal(host) else lookup(host, port)
            if not _literal(host) and host != "localhost":
                plan.cassette.lookups[host] = addresses
            # IPv4 first: a server a tutorial starts on "localhost" often listens there only.
            real = next((a for a in addresses if ":" not in a), addresses[0])
        services.append({"name": name, "host": "" if _loopback(host) else _host_name(host),
                         "port": port, "real": real, "real_port": port, "simulated": name in plan.servers})
    recorded = [{"service": c.service, "chunks": c.chunks} for c in plan.cassette.conversations]
    return {"services": services, "recorded": recorded, "match": plan.match, "ignored_headers": plan.ignored}


def _host_name(host: str) -> str:
    return "ip-" + re.sub(r"[^0-9A-Za-z]", "-", host) if _literal(host) else host


def hosts(plan: Plan) -> list[dict[str, Any]]:
    """The simulated hosts the services live on (not the default host's loopback, nor
    the hosts of the simulated servers recorded: the run's own): named as the service,
    with the addresses the lookup gave."""
    out = []
    for name in plan.cassette.services:
        host, _ = parse_service(name)
        if _loopback(host) or name in plan.servers:
            continue
        addresses = [host] if _literal(host) else plan.cassette.lookups.get(host, [])
        out.append({"name": _host_name(host), "addresses": addresses, "processes": [],
                    "clock_offset": 0, "clock_drift": 0.0})
    return out


def with_hosts(scenario: dict[str, Any] | None, plan: Plan) -> dict[str, Any] | None:
    """Scenario data with the services' hosts added (a host it has already keeps its own
    definition); None stays None when the services are all on the programs' host."""
    added = hosts(plan)
    if not added:
        return scenario
    if scenario is None:
        from netsim import scenario as _scenario

        scenario = _scenario.from_dict({}).data
    known = {host["name"] for host in scenario["hosts"]}
    return {**scenario, "hosts": [*scenario["hosts"], *(h for h in added if h["name"] not in known)]}


def finish(plan: Plan, outcome: dict[str, Any]) -> str:
    """Writes what a recording run recorded; returns the run's cassette problem ("" when
    none). A run whose recording failed leaves the cassette as it was."""
    if outcome["problem"] or not plan.recording:
        return outcome["problem"]
    kept = plan.cassette.conversations
    counts: dict[str, int] = {}
    for c in kept:
        counts[c.service] = counts.get(c.service, 0) + 1
    new = []
    for item in outcome["conversations"]:
        seen = counts.get(item["service"], 0)
        if seen > 0:  # played from the cassette
            counts[item["service"]] = seen - 1
            continue
        new.append(mask(Conversation(item["service"], [tuple(c) for c in item["chunks"]]),
                        plan.masks, plan.patterns))
    plan.cassette.conversations = [*kept, *new]
    plan.cassette.lookups.update(outcome["lookups"])
    try:
        save(plan.path, plan.cassette)
    except OSError as e:
        return f"cassette: cannot write {plan.path}: {e.strerror}"
    return ""


def from_options(record: str | None, replay: str | None, mode: str | None, allow: Iterable[str],
                 match: str, ignore: Iterable[str], masks: Iterable[str], patterns: Iterable[str],
                 names: dict[str, str], servers: Iterable[str] = ()) -> Plan | None:
    """The plan of simrun's --record/--replay options (``names``: each option's name as
    the caller spells it), None without a cassette. Raises CassetteError."""
    allow, ignore, masks, patterns, servers = list(allow), list(ignore), list(masks), list(patterns), list(servers)
    if servers and record is None:
        raise CassetteError(f"{names['record_server']} goes with {names['record']} CASSETTE: it names the "
                            f"simulated servers whose connections are recorded")
    if record is not None and replay is not None:
        raise CassetteError(f"{names['record']} and {names['replay']} go one at a time: "
                            f"{names['record']} with {names['record_mode']} once replays when the cassette exists")
    if record is None and replay is None:
        if allow or mode is not None or ignore or masks or patterns or match != "bytes":
            raise CassetteError(f"{names['allow']}, {names['record_mode']}, {names['match']} and the masks "
                                f"go with {names['record']} CASSETTE or {names['replay']} CASSETTE")
        return None
    if replay is not None and mode not in (None, "none"):
        raise CassetteError(f"{names['replay']} only replays; for {names['record_mode']} {mode} give "
                            f"{names['record']} {replay}")
    return plan(record if record is not None else replay, mode or ("all" if record is not None else "none"),
                allow, match, ignore, masks, patterns, servers, names)
