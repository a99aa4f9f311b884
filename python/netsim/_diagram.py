"""Sequence diagrams of a run, derived from its trace: who connected to whom, what
was sent, who closed or reset, as Mermaid text or as a self-contained SVG (alone
or in an HTML page).

Large runs stay readable: a message repeated back to back is drawn once with its
count, a payload shows its first bytes and its size, and after ``limit`` messages
the rest are counted in a closing note (the pcap and the trace have them all).
Event kinds this module does not know (a newer core's) become a note rather than
an error."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from netsim import _formats

#: The file extensions --diagram takes, and what each gets.
KINDS = {".md": "markdown", ".mmd": "mermaid", ".svg": "svg", ".html": "html"}
#: Messages drawn before the rest are summarised in one note.
DEFAULT_LIMIT = 400
#: Payload bytes shown in a message's label.
PREVIEW = 24

# Kinds that draw nothing: their effect shows in the messages around them (a recv
# is the send it reads; output is the transcript's).
_SILENT = {"spawn", "bind", "listen", "accept", "recv", "output", "error"}
# Kinds about a socket: drawn only for sockets with internet addresses.
_NETWORK = {"connect", "send", "drop", "shutdown", "close", "reset"}


@dataclass
class Message:
    time_ns: int
    source: str  #: a participant's id
    target: str  #: the same as source for a note
    label: str
    dashed: bool = False  #: control (connect, FIN, RST) rather than data
    note: bool = False
    count: int = 1


@dataclass
class Diagram:
    participants: dict[str, str] = field(default_factory=dict)  #: id -> name shown, in order
    messages: list[Message] = field(default_factory=list)
    left_out: int = 0  #: messages past the limit


def preview(data: bytes, size: int) -> str:
    """The first bytes of a payload, printable (\\n, \\xNN), and its size."""
    shown = "".join(chr(b) if 0x20 <= b < 0x7f else {10: "\\n", 13: "\\r", 9: "\\t"}.get(b, f"\\x{b:02x}")
                    for b in data[:PREVIEW])
    more = "…" if size > PREVIEW else ""
    return f'"{shown}{more}" ({size} B)' if data or not size else f"({size} B)"


def build(events: Iterable[dict[str, Any]], limit: int = DEFAULT_LIMIT) -> Diagram:
    """The diagram of a trace's events (dictionaries as in the JSON lines)."""
    events = list(events)
    names = {e["pid"]: e.get("text", "") for e in events if e["event"] == "spawn"}
    # A connection's two processes: the connecting one, and the accepting one, which
    # may accept after the first bytes arrive.
    client: dict[int, tuple[int, str]] = {}  # conn -> (pid, local address)
    server = {e["conn"]: e["pid"] for e in events if e["event"] == "accept" and "conn" in e}
    # Who owns an address, for datagrams and connections nobody accepted.
    owner = {e["local"]: e["pid"] for e in events if e["event"] in ("bind", "listen") and "local" in e}
    diagram = Diagram()

    def participant(pid: int | None, address: str | None = None) -> str:
        if pid is None and address is not None:
            pid = owner.get(address) or owner.get(_wildcard(address))
        key, name = (f"p{pid}", names.get(pid, f"pid {pid}")) if pid is not None else (
            f"a{len(diagram.participants)}", address or "?")
        if pid is None:
            key = next((k for k, v in diagram.participants.items() if v == name and k[0] == "a"), key)
        diagram.participants.setdefault(key, name)
        return key

    def add(message: Message) -> None:
        last = diagram.messages[-1] if diagram.messages else None
        if last and (last.source, last.target, last.label, last.note) == (
                message.source, message.target, message.label, message.note):
            last.count += 1
        elif len(diagram.messages) >= limit:
            diagram.left_out += 1
        else:
            diagram.messages.append(message)

    def own_side(e: dict[str, Any]) -> str:
        """The process of a stream event's socket, also when the event has no pid (a
        socket closed as its process was stopped)."""
        if "pid" in e:
            return participant(e["pid"])
        pid, local = client.get(e.get("conn", 0), (None, None))
        if local is not None and e.get("local") == local:
            return participant(pid, local)
        return participant(server.get(e.get("conn", 0)), e.get("local"))

    def peer_of(e: dict[str, Any]) -> str:
        """The other end of a stream event's connection."""
        pid, local = client.get(e.get("conn", 0), (None, None))
        if local is not None and e.get("local") == local:
            return participant(server.get(e["conn"]), e.get("remote"))
        return participant(pid, e.get("remote"))

    finished: set[tuple[int, str]] = set()  # (conn, local) of the sides that sent their FIN
    for e in events:
        kind, t = e["event"], e["t"]
        if kind in _SILENT or (kind in _NETWORK and "local" not in e and "remote" not in e):
            continue  # pipes and Unix sockets have no addresses: not the network's
        me = own_side(e) if kind in _NETWORK else participant(e["pid"]) if "pid" in e else None
        if kind == "connect":
            client[e["conn"]] = (e["pid"], e.get("local"))
            add(Message(t, me, participant(server.get(e["conn"]), e.get("remote")),
                        f"connect {e.get('remote', '')}", dashed=True))
        elif kind == "send":
            data = e.get("data", "").encode("latin-1")
            target = participant(None, e.get("remote")) if e.get("proto") == "udp" else peer_of(e)
            add(Message(t, me, target, preview(data, e.get("value", len(data)))))
        elif kind == "drop":
            if diagram.messages:
                diagram.messages[-1].label += " (dropped)"
        elif kind in ("shutdown", "close"):
            # SHUT_RD (0, left out of the JSON) sends nothing; a side sends one FIN.
            side = (e.get("conn", 0), e.get("local", ""))
            if side[0] and side not in finished and (kind == "close" or e.get("value", 0)):
                finished.add(side)
                add(Message(t, me, peer_of(e), "FIN", dashed=True))
        elif kind == "reset":
            if e.get("conn"):
                add(Message(t, peer_of(e), me, "RST", dashed=True))
        elif kind in ("exit", "kill"):
            if me in diagram.participants:
                add(Message(t, me, me, f"exit {e.get('value', 0)}" if kind == "exit" else "stopped", note=True))
        else:
            # deadlock, and the kinds of a newer core: shown as they are named.
            text = e.get("text", "")
            where = me or next(iter(diagram.participants), None) or participant(None, "netsim")
            add(Message(t, where, where, f"{kind}: {text.splitlines()[0]}" if text.strip() else kind, note=True))
    # Processes in start order (servers first, as on the command line), then the
    # addresses nobody owned.
    diagram.participants = dict(sorted(diagram.participants.items(),
                                       key=lambda item: (item[0][0] == "a", int(item[0][1:]))))
    return diagram


def _wildcard(address: str) -> str:
    """127.0.0.1:53 as a socket bound to 0.0.0.0:53 has it."""
    host, _, port = address.rpartition(":")
    return f"[::]:{port}" if host.startswith("[") else f"0.0.0.0:{port}"


def _label(message: Message) -> str:
    return message.label + (f" ×{message.count}" if message.count > 1 else "")


def _mermaid_text(text: str) -> str:
    """Text Mermaid shows as it is: its own entity codes for what it would parse."""
    return "".join({"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "%": "#37;"}.get(c, c) for c in text)


def mermaid(diagram: Diagram) -> str:
    """Mermaid's sequenceDiagram text."""
    out = ["sequenceDiagram"]
    participants = diagram.participants or {"netsim": "netsim"}
    out += [f"    participant {key} as {_mermaid_text(name)}" for key, name in participants.items()]
    for m in diagram.messages:
        if m.note:
            out.append(f"    Note over {m.source}: {_mermaid_text(_label(m))}")
        else:
            arrow = "-->>" if m.dashed else "->>"
            out.append(f"    {m.source}{arrow}{m.target}: {_mermaid_text(_label(m))}")
    if diagram.left_out:
        first, last = next(iter(participants)), list(participants)[-1]
        out.append(f"    Note over {first},{last}: {diagram.left_out} more messages not shown")
    return "\n".join(out) + "\n"


# The SVG's geometry, in pixels.
# A lifeline's column: wide enough for the longest label between neighbours, within
# these bounds (a longer one is cut, with the whole label as its tooltip).
_COLUMN = (170, 480)
_ROW = 30
_TOP = 50
_LEFT = 90  # the time column
_CHAR = 7  # the width of a character at 12 px, monospaced


def svg(diagram: Diagram) -> str:
    """The diagram as a standalone SVG: lifelines, arrows, notes, and each message's
    virtual time on the left."""
    keys = list(diagram.participants) or ["netsim"]
    shown = diagram.participants or {"netsim": "netsim"}
    longest = max((len(_label(m)) for m in diagram.messages if not m.note), default=0)
    column = max(_COLUMN[0], min(_COLUMN[1], longest * _CHAR + 30))
    x = {key: _LEFT + column // 2 + i * column for i, key in enumerate(keys)}
    colour = {key: _formats.PALETTE[i % len(_formats.PALETTE)] for i, key in enumerate(keys)}
    rows = len(diagram.messages) + (1 if diagram.left_out else 0)
    width = _LEFT + column * len(keys)
    height = _TOP + _ROW * (rows + 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="ui-monospace,monospace" font-size="12">',
           '<defs><marker id="netsim-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#333"/></marker></defs>',
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="8" y="{_TOP - 24}" fill="#777">time (s)</text>']
    for key in keys:
        out.append(f'<line x1="{x[key]}" y1="{_TOP - 10}" x2="{x[key]}" y2="{height - 8}" '
                   f'stroke="{colour[key]}" stroke-dasharray="4 3"/>')
        out.append(f'<rect x="{x[key] - column // 2 + 10}" y="{_TOP - 40}" width="{column - 20}" height="26" '
                   f'rx="4" fill="#fff" stroke="{colour[key]}"/>')
        out.append(f'<text x="{x[key]}" y="{_TOP - 22}" text-anchor="middle" font-weight="bold" '
                   f'fill="{colour[key]}">{_shown(shown[key], (column - 30) // _CHAR)}</text>')
    for i, m in enumerate(diagram.messages):
        y = _TOP + _ROW * (i + 1)
        out.append(f'<text x="8" y="{y}" fill="#777">{_formats.seconds(m.time_ns)}</text>')
        if m.note or m.source == m.target:
            # A note may spill over the neighbouring lifelines, never past the picture.
            room = min(len(_label(m)), (min(x[m.source], width - x[m.source]) * 2 - 16) // _CHAR)
            half = (room * _CHAR + 16) // 2
            out.append(f'<rect x="{x[m.source] - half}" y="{y - 14}" width="{2 * half}" height="20" '
                       'fill="#fff8c5" stroke="#d4a72c"/>')
            out.append(f'<text x="{x[m.source]}" y="{y}" text-anchor="middle">{_shown(_label(m), room)}</text>')
            continue
        room = max(abs(x[m.source] - x[m.target]) // _CHAR, 12)
        dash = ' stroke-dasharray="5 3"' if m.dashed else ""
        out.append(f'<line x1="{x[m.source]}" y1="{y}" x2="{x[m.target]}" y2="{y}" stroke="#333"{dash} '
                   'marker-end="url(#netsim-arrow)"/>')
        out.append(f'<text x="{(x[m.source] + x[m.target]) // 2}" y="{y - 5}" text-anchor="middle" '
                   f'fill="{colour[m.source]}">{_shown(_label(m), room)}</text>')
    if diagram.left_out:
        y = _TOP + _ROW * rows
        out.append(f'<text x="{_LEFT}" y="{y}" fill="#777">… {diagram.left_out} more messages not shown '
                   '(see --pcap or --trace)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _fit(text: str, room: int) -> str:
    return text if len(text) <= room else text[:room - 1] + "…"


def _shown(text: str, room: int) -> str:
    """SVG text cut to fit, with the whole of it as a tooltip when cut."""
    if len(text) <= room:
        return html.escape(text)
    return f"<title>{html.escape(text)}</title>{html.escape(_fit(text, room))}"


def render(diagram: Diagram, kind: str) -> str:
    """The diagram as a kind of KINDS' values."""
    if kind == "mermaid":
        return mermaid(diagram)
    if kind == "markdown":
        return _formats.markdown(mermaid(diagram), "mermaid")
    if kind == "svg":
        return svg(diagram)
    if kind == "html":
        return _formats.page(svg(diagram), "netsim sequence diagram")
    raise ValueError(f"a diagram is one of {', '.join(sorted(set(KINDS.values())))}, not {kind!r}")


def kind_of(path: str) -> str:
    """The kind a file's extension asks for. Raises ValueError for another."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in KINDS:
        raise ValueError(f"--diagram {path}: the file name must end in {', '.join(KINDS)} "
                         "(Mermaid in Markdown, Mermaid, SVG, HTML)")
    return KINDS[ext]
