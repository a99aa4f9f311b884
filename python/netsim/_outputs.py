"""What a run's report offers besides its transcript, the same for the in-process
Result and simrun's RunReport: the transcript in other formats, the sequence
diagram, the pcap capture, and their notebook renderings. All of it is derived
from the run's trace, so the same seed gives the same bytes."""

from __future__ import annotations

import functools

from netsim import _formats

# Every simrun run reads this module: the diagram (with dataclasses), html and json
# are imported where they are used.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netsim import _diagram


class TraceOutputs:
    """A mixin for a read-only report whose ``_core_trace()`` returns its
    netsim._core.Trace and whose ``_names()`` lists its processes in start order."""

    def _core_trace(self) -> Any:
        raise NotImplementedError

    def _names(self) -> list[str]:
        raise NotImplementedError

    def _summary_html(self) -> str:
        """A line under the transcript in a notebook; none by default."""
        return ""

    def _trace_object(self) -> Any:
        trace = self._core_trace()
        if trace is None:
            raise RuntimeError("this report has no trace: it was made in another process "
                               "(netsim.explore's workers keep their traces)")
        return trace

    @functools.cached_property
    def lines(self) -> list[_formats.Line]:
        """The transcript's lines, each with its process, stream and virtual time."""
        return _formats.lines_of(self._trace_object().lines())

    def formatted(self, format: str = "text", *, timestamps: bool = False) -> bytes:
        """The transcript as ``simrun --format FORMAT [--timestamps]`` prints it to a
        file: "text", "markdown" (a fenced block), "html" (a page) or "json" (JSON
        lines: name, stream, time, text)."""
        if format not in _formats.FORMATS:
            raise ValueError(f"format must be one of {', '.join(_formats.FORMATS)}, not {format!r}")
        if not isinstance(timestamps, bool):
            raise TypeError(f"timestamps must be True or False, not {timestamps!r}")
        return _formats.render(self.lines, format, names=self._names(), timestamps=timestamps)

    def diagram(self, kind: str = "mermaid", *, limit: int | None = None) -> str:
        """The sequence diagram: "mermaid", "markdown" (Mermaid in a fenced block),
        "svg" or "html" (a page around the SVG). After ``limit`` messages (by default
        netsim._diagram.DEFAULT_LIMIT) the rest are counted in one note."""
        from netsim import _diagram

        if limit is None:
            limit = _diagram.DEFAULT_LIMIT
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        return _diagram.render(_diagram.build(self._events(), limit), kind)

    def pcap(self) -> bytes:
        """The run as a pcap capture (Wireshark, tshark, tcpdump read it)."""
        return self._trace_object().pcap()

    def _events(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self._trace_object().jsonl().splitlines()]

    @functools.cached_property
    def _notebook_diagram(self) -> _diagram.Diagram:
        # A notebook redraws a result often; reading a long trace costs more than drawing.
        from netsim import _diagram

        return _diagram.build(self._events())

    def _repr_markdown_(self) -> str:
        """Notebooks that prefer Markdown: the transcript in a fenced block."""
        return self.formatted("markdown").decode()

    def _repr_html_(self) -> str:
        """The transcript as HTML for notebooks: one colour per process (in start
        order), every byte of output escaped, a summary, and the sequence diagram
        when the processes talked over the network."""
        from netsim import _diagram

        diagram = self._notebook_diagram
        picture = ""
        if any(not m.note for m in diagram.messages):
            picture = ('<details class="netsim-diagram" open><summary>sequence diagram</summary>'
                       f"{_diagram.svg(diagram)}</details>")
        summary = self._summary_html()
        summary = f'<div class="netsim-summary" style="font-size:smaller;opacity:0.8">{summary}</div>' if summary else ""
        return (f'<div class="netsim-result">{_formats.fragment(self.lines, self._names())}'
                f"{summary}{picture}</div>")


def coloured_name(name: str, index: int) -> str:
    """A process's name in bold, in its colour, for summaries."""
    import html

    colour = _formats.PALETTE[index % len(_formats.PALETTE)]
    return f'<span style="color:{colour}"><b>{html.escape(name)}</b></span>'
