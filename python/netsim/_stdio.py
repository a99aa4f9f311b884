"""Output of simulated tasks: ``print`` and writes to ``sys.stdout``/``sys.stderr``
(or their ``.buffer``) from a task go to the simulation's transcript, under the
task's process name and in simulated order. Other threads write where they always
did."""

from __future__ import annotations

import io
import sys

from netsim import _core


class _TaskBinary(io.RawIOBase):
    def __init__(self, stream: int, real):
        super().__init__()
        self._stream = stream
        self._real = real

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        if _core.in_task():
            return _core.write(self._stream, data)
        return self._real.buffer.write(data)


class _TaskStream(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr: text from a task becomes UTF-8 bytes
    in the transcript (with the stream's error handling); anything else goes to the
    stream it replaced."""

    def __init__(self, stream: int, real):
        super().__init__()
        self._stream = stream
        self._real = real
        self.buffer = _TaskBinary(stream, real)

    @property
    def encoding(self) -> str:
        return "utf-8"

    @property
    def errors(self) -> str:
        return "backslashreplace" if self._stream == 2 else "strict"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False if _core.in_task() else self._real.isatty()

    def fileno(self) -> int:
        return self._real.fileno()

    def write(self, text: str) -> int:
        if not _core.in_task():
            return self._real.write(text)
        _core.write(self._stream, text.encode("utf-8", self.errors))
        return len(text)

    def flush(self) -> None:
        if not _core.in_task():
            self._real.flush()


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    return [(sys, "stdout", _TaskStream(1, sys.stdout)), (sys, "stderr", _TaskStream(2, sys.stderr))]
