"""A run's printed lines in the formats tutorials and tools take: text (the
transcript), Markdown (a fenced block), HTML (coloured names) and JSON lines.

Everything here depends only on the lines (from the trace), never on the terminal
or the host, except colour, which the caller asks for."""

from __future__ import annotations

import collections
import re

# Every simrun run reads this module: html and json are imported where a format needs
# them, and a Line is a named tuple rather than a dataclass (dataclasses imports
# inspect, more than the rest of simrun's start).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Sequence

FORMATS = ("text", "markdown", "html", "json")

# Matplotlib's "tab10" colours: distinct from one another and readable on light and
# dark backgrounds; the n-th process (in start order) gets the n-th.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
# The same order in the terminal's basic colours (blue, red, green, magenta, yellow,
# then the bright ones), which every terminal theme adjusts for readability.
_ANSI = ("34", "31", "32", "35", "33", "94", "95", "36")
_RESET = "\x1b[0m"


class Line(collections.namedtuple("Line", "name stream time_ns data")):
    """One line a process printed: ``name`` (the process's, as the transcript shows
    it), ``stream`` ("stdout" or "stderr"), ``time_ns`` (virtual time since the
    start, when its newline was written), ``data`` (bytes, without the newline)."""

    __slots__ = ()

    @property
    def text(self) -> str:
        """The line as text (bytes that are not UTF-8 shown as ``\\xNN``)."""
        return self.data.decode("utf-8", "backslashreplace")


def lines_of(core_lines: Iterable[tuple[str, int, int, bytes]]) -> list[Line]:
    """Lines from netsim._core.Trace.lines()."""
    return [Line(name, "stderr" if stream == 2 else "stdout", time, data)
            for name, stream, time, data in core_lines]


def seconds(time_ns: int) -> str:
    """Virtual time as --timestamps shows it: seconds with six decimals."""
    return f"{time_ns // 1_000_000_000}.{time_ns % 1_000_000_000 // 1000:06d}"


def colours(names: Sequence[str], lines: Sequence[Line]) -> dict[str, int]:
    """Each name's colour index: the processes in start order, then any other name
    (a forked child) in the order it first printed."""
    index: dict[str, int] = {}
    for name in [*names, *(line.name for line in lines)]:
        index.setdefault(name, len(index))
    return index


def render(lines: Sequence[Line], fmt: str, *, names: Sequence[str] = (), timestamps: bool = False,
           colour: bool = False) -> bytes:
    """The lines in a format of FORMATS. ``names``: the processes in start order
    (their colours). ``timestamps``: each line starts with its virtual time.
    ``colour``: for a terminal (text only): names aligned and coloured, as process
    runners (honcho, docker compose) show them."""
    if fmt == "json":
        import json

        return "".join(json.dumps({"name": line.name, "stream": line.stream, "time": line.time_ns / 1e9,
                                   "text": line.text}, ensure_ascii=False) + "\n"
                       for line in lines).encode()
    if fmt == "html":
        return page(fragment(lines, names, timestamps)).encode()
    if fmt == "markdown":
        return markdown(text_lines(lines, timestamps)).encode()
    if fmt != "text":
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if colour:
        return _terminal(lines, names, timestamps)
    return b"".join(line + b"\n" for line in _plain(lines, timestamps))


def _plain(lines: Sequence[Line], timestamps: bool) -> list[bytes]:
    """"NAME: line", exactly as the transcript has it, after the time if asked."""
    width = _time_width(lines)
    return [(seconds(line.time_ns).rjust(width).encode() + b" " if timestamps else b"")
            + line.name.encode() + b": " + line.data for line in lines]


def text_lines(lines: Sequence[Line], timestamps: bool = False) -> str:
    """The transcript as text, "NAME: line" per line (after the time if asked)."""
    return "".join(line.decode("utf-8", "backslashreplace") + "\n" for line in _plain(lines, timestamps))


def _time_width(lines: Sequence[Line]) -> int:
    return max((len(seconds(line.time_ns)) for line in lines), default=0)


def _terminal(lines: Sequence[Line], names: Sequence[str], timestamps: bool) -> bytes:
    index = colours(names, lines)
    name_width = max((len(line.name) for line in lines), default=0)
    time_width = _time_width(lines)
    out = []
    for line in lines:
        code = _ANSI[index[line.name] % len(_ANSI)]
        prefix = f"\x1b[{code}m{line.name.ljust(name_width)} |{_RESET} "
        if timestamps:
            prefix = f"\x1b[2m{seconds(line.time_ns).rjust(time_width)}{_RESET} " + prefix
        out.append(prefix.encode() + line.data + b"\n")
    return b"".join(out)


def markdown(text: str, info: str = "text") -> str:
    """A fenced code block holding text exactly: the fence is longer than any run of
    backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}{fence}\n"


def fragment(lines: Sequence[Line], names: Sequence[str], timestamps: bool = False) -> str:
    """The lines as an HTML <pre>: each name in its process's colour, stderr lines
    marked, every byte of output escaped."""
    import html

    index = colours(names, lines)
    width = _time_width(lines)
    rows = []
    for line in lines:
        colour = PALETTE[index[line.name] % len(PALETTE)]
        stamp = (f'<span class="netsim-time">{seconds(line.time_ns).rjust(width)}</span> '
                 if timestamps else "")
        stream = ' class="netsim-stderr"' if line.stream == "stderr" else ""
        rows.append(f'{stamp}<span style="color:{colour}"{stream}><b>{html.escape(line.name)}</b>: '
                    f"{html.escape(line.text)}</span>")
    body = "\n".join(rows) if rows else "<i>(no output)</i>"
    return f'<pre class="netsim-transcript" style="margin:0">{body}</pre>'


def page(body: str, title: str = "netsim transcript") -> str:
    """A complete, self-contained HTML document (no script, no external resource)."""
    import html

    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n"
            "<style>body{font-family:system-ui,sans-serif;margin:1.5em}"
            "pre{font-family:ui-monospace,monospace;font-size:14px;line-height:1.4}"
            ".netsim-time{opacity:0.6}.netsim-stderr{font-style:italic}</style>\n"
            f"</head>\n<body>\n{body}\n</body>\n</html>\n")
