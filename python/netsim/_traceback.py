"""Tracebacks as ``python script.py`` prints them: without netsim's own frames.

A simulated call that raises (``sock.connect`` refused) passes through netsim's
Python files, whose paths depend on where netsim is installed; CPython's own socket
methods are C and show no frame there. So every frame of this package is left out,
in the exception and in its causes and contexts."""
import os
import traceback

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _theirs(frame: traceback.FrameSummary) -> bool:
    return not os.path.abspath(frame.filename).startswith(_PACKAGE)


def format_exception(exc: BaseException) -> str:
    shown = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    pending, seen = [shown], set()
    while pending:
        part = pending.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        part.stack = traceback.StackSummary.from_list([f for f in part.stack if _theirs(f)])
        pending.extend(p for p in (part.__cause__, part.__context__) if p is not None)
        pending.extend(getattr(part, "exceptions", None) or ())
    return "".join(shown.format())
