"""simrun's output options: --format, --timestamps, --color, --diagram and --pcap."""

from __future__ import annotations

import argparse
import os

from netsim import _formats, simrun

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

HELP = """\
outputs:
  --format selects what simrun prints (to stdout, -o FILE, or compared by --check):
  text, the transcript (default); markdown, the transcript in a fenced code block;
  html, a self-contained page with each process's name in its colour; json, JSON
  lines {"name", "stream" (stdout or stderr), "time" (virtual seconds since the
  start), "text"}. With --explore, text is the table and json a record per seed.
  --timestamps starts each line with its virtual time. On a terminal (never in a
  file or a pipe, nor with NO_COLOR set) the text format aligns the names and
  colours them, as process runners do; --color always|never overrides that.
  --diagram FILE writes a sequence diagram of the run (connections, data, FIN, RST)
  as FILE's extension says: .md (Mermaid in a fenced block: GitHub, Jupyter and
  MkDocs render it), .mmd (Mermaid), .svg, or .html (a page with the SVG, no
  network needed). --pcap FILE writes the run's packets as a pcap capture for
  Wireshark or tshark: TCP with its handshake, sequence numbers, FIN and RST, UDP,
  virtual times as timestamps.
"""


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs")
    group.add_argument("--format", choices=_formats.FORMATS, default=None,
                       help="what simrun prints: text (default), markdown, html or json")
    group.add_argument("--timestamps", action="store_true",
                       help="start each line with its virtual time (seconds since the start)")
    group.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="coloured, aligned names: auto (on a terminal without NO_COLOR), "
                            "always or never")
    group.add_argument("--diagram", metavar="FILE",
                       help="write a sequence diagram to FILE (.md, .mmd, .svg or .html)")
    group.add_argument("--pcap", metavar="FILE", help="write the run's packets to FILE (pcap)")


def files(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The files these options write, as (option, path)."""
    return [(option, path) for option, path in (("--diagram", args.diagram), ("--pcap", args.pcap))
            if path is not None]


def check(args: argparse.Namespace, explore: bool) -> None:
    """Refuses what cannot work, before the run. Raises UsageError."""
    if explore:
        single = [option for option, value in (("--timestamps", args.timestamps), *files(args)) if value]
        if single:
            raise simrun.UsageError(f"{single[0]} is for a single run, not --explore or --verify")
        if args.format in ("markdown", "html"):
            raise simrun.UsageError(f"--format {args.format} is for a single run's transcript; "
                                    "--explore prints text or json")
    if args.diagram is not None:
        from netsim import _diagram  # only here: it costs every run a few milliseconds

        try:
            _diagram.kind_of(args.diagram)
        except ValueError as e:
            raise simrun.UsageError(str(e)) from None


def printed(report: simrun.RunReport, args: argparse.Namespace) -> bytes:
    """What -o writes and --check compares: the transcript in --format."""
    if (args.format or "text") == "text" and not args.timestamps:
        return report.transcript_bytes
    return report.formatted(args.format or "text", timestamps=args.timestamps)


def on_stdout(report: simrun.RunReport, args: argparse.Namespace, out: IO[str], plain: bytes) -> bytes:
    """What stdout shows: ``plain``, or coloured names on a terminal."""
    if (args.format or "text") != "text" or not _colour(args.color, out):
        return plain
    return _formats.render(report.lines, "text", names=report._names(), timestamps=args.timestamps,
                           colour=True)


def _colour(when: str, out: IO[str]) -> bool:
    if when != "auto":
        return when == "always"
    # https://no-color.org: set and not empty.
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def write_files(report: simrun.RunReport, args: argparse.Namespace) -> str:
    """Writes --diagram and --pcap; returns "" or a one-line message of what failed."""
    outputs = []
    if args.diagram is not None:
        from netsim import _diagram

        outputs.append(("--diagram", args.diagram,
                        report.diagram(_diagram.kind_of(args.diagram)).encode()))
    if args.pcap is not None:
        outputs.append(("--pcap", args.pcap, report.pcap()))
    for option, path, data in outputs:
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            return f"cannot write {option} {path}: {e.strerror}"
    return ""
