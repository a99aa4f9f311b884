"""How a simulated process's code ends it: ``os._exit`` and ``sys.exit``, with the
status Linux would report, as CPython turns them into one."""

from __future__ import annotations

import os
import sys

from netsim import _core

_real_exit = os._exit


def status_of(code: object) -> int:
    """The exit status of ``raise SystemExit(code)``, as CPython's exit gives it: None
    is 0; an int is passed to exit() as a C long, 255 when it does not fit (CPython
    then passes -1), and the system keeps its low 8 bits; anything else is printed
    to stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if -2**63 <= code < 2**63 else 255
    print(code, file=sys.stderr)
    return 1


def _exit(status: int) -> None:
    """os._exit in a task ends its simulated process, not the interpreter running
    the simulation: every task of the process stops, as its threads would."""
    if not _core.in_task():
        _real_exit(status)
    # CPython's own checks and messages (a C int), on a call that cannot exit.
    if not -2**31 <= status.__index__() < 2**31:
        raise OverflowError("Python int too large to convert to C int")
    _core.exit_process(status & 0xFF)


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    return [(os, "_exit", _exit)]
