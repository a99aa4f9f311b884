"""IPython and Jupyter support: the ``%netsim`` / ``%%netsim`` magic.

Load it with ``%load_ext netsim``. The cell defines the processes' functions; the
magic's line says which function runs as which process, in spawn order::

    %%netsim --seed 42 server=serve client=ask(b"hello")
    import socket

    def serve():
        ...

    def ask(message):
        ...

``NAME=FUNC`` spawns ``FUNC()`` as process NAME; ``NAME=FUNC(ARGS)`` spawns it with
those arguments, evaluated in the notebook's namespace when the magic runs. The cell
runs first, in the notebook's namespace, so its functions stay defined afterwards.
The line form ``%netsim ...`` runs functions defined in earlier cells. The result is
displayed (as the coloured transcript) and stored in the variable ``netsim_result``
(``--result NAME`` picks another).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import linecache
import re
from dataclasses import dataclass
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from netsim._policy import POLICIES
from netsim.simulation import DeadlockError, Result, Simulation

_USAGE = """\
%%netsim [--seed N] [--policy run-until-block|random|pct] [--epoch SECONDS]
         [--result VARIABLE] NAME=FUNC[(ARGS)] ...

Runs the cell in the notebook's namespace, then spawns each FUNC as a process called
NAME, in the order given, and runs the simulation. Example:

    %%netsim --seed 42 server=serve client=ask(b"hi") client=ask(b"again")"""

# Process names as the transcript shows them: no spaces, no ":" (the transcript's
# separator) and no "=".
_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")
_CAPTURE = "__netsim_capture_arguments__"


@dataclass(frozen=True)
class ProcessSpec:
    """One ``NAME=FUNC(ARGS)`` from the magic's line, evaluated."""

    name: str
    target: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as UsageError (a message in the notebook)
    instead of exiting the kernel's process."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n\n{_USAGE}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or _USAGE)


def _parser() -> _Parser:
    parser = _Parser(prog="%%netsim", add_help=False)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", default="run-until-block", choices=POLICIES)
    parser.add_argument("--epoch", type=float, default=None)
    parser.add_argument("--result", default="netsim_result")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("processes", nargs="*")
    return parser


def split_line(line: str) -> list[str]:
    """Splits the magic's line at spaces outside brackets and string quotes, so that
    ``client=ask(b"a b", 1)`` stays one word."""
    words, current, depth, quote = [], [], 0, ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            current.append(char)
            if char == "\\" and i + 1 < len(line):
                current.append(line[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth -= 1
            current.append(char)
        elif char.isspace() and depth <= 0:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if quote or depth > 0:
        raise UsageError(f"unbalanced quotes or brackets in: {line.strip()}")
    if current:
        words.append("".join(current))
    return words


def parse_process(word: str, namespace: dict[str, Any]) -> ProcessSpec:
    """Turns ``NAME=FUNC`` or ``NAME=FUNC(ARGS)`` into a ProcessSpec, evaluating FUNC
    and ARGS in ``namespace`` (but not calling FUNC)."""
    name, sep, source = word.partition("=")
    if not sep or not source:
        raise UsageError(f"expected NAME=FUNC or NAME=FUNC(ARGS), not {word!r}\n\n{_USAGE}")
    if not _NAME.match(name):
        raise UsageError(f"bad process name {name!r}: use letters, digits, '_', '.' and '-'")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        raise UsageError(f"{name}: cannot parse {source!r}: {e.msg}") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        # NAME=FUNC: the same as NAME=FUNC().
        call = ast.Call(func=call, args=[], keywords=[])
    # Evaluate FUNC and its arguments, but call a capturing function instead of FUNC.
    capture = ast.Call(func=ast.Name(_CAPTURE, ast.Load()),
                       args=[call.func, *call.args], keywords=call.keywords)
    expression = ast.fix_missing_locations(ast.copy_location(ast.Expression(capture), tree))
    scope = dict(namespace)
    scope[_CAPTURE] = lambda target, *args, **kwargs: (target, args, kwargs)
    try:
        target, args, kwargs = eval(compile(expression, f"<%%netsim {name}>", "eval"), scope)
    except NameError as e:
        raise UsageError(f"{name}: {e} (define it in this cell or an earlier one)") from None
    except Exception as e:
        raise UsageError(f"{name}: evaluating {source!r} raised {type(e).__name__}: {e}") from None
    if not callable(target):
        raise UsageError(f"{name}: {ast.unparse(call.func)} is not callable (its type is {type(target).__name__})")
    return ProcessSpec(name, target, args, kwargs)


def _run_cell_body(cell: str, namespace: dict[str, Any]) -> None:
    # A file name derived from the cell's text (not IPython's per-kernel temporary
    # file) keeps tracebacks printed by tasks the same from one kernel to the next;
    # linecache lets those tracebacks show the source lines.
    filename = f"<netsim-cell-{hashlib.sha1(cell.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(cell), None, cell.splitlines(keepends=True), filename)
    exec(compile(cell, filename, "exec"), namespace)


def _short(error: BaseException) -> BaseException:
    """Makes IPython show just ``Type: message`` for an error whose traceback (the
    magic's internals) would only hide the message; ``%tb`` still shows it all."""
    text = f"{type(error).__name__}: {error}"
    error._render_traceback_ = lambda: [text]  # type: ignore[attr-defined]
    return error


@magics_class
class NetsimMagics(Magics):
    """The ``%netsim`` line magic and ``%%netsim`` cell magic."""

    @line_cell_magic
    def netsim(self, line: str, cell: str | None = None) -> Result | None:
        """Runs functions as processes on netsim's virtual network. See ``%%netsim --help``."""
        options = _parser().parse_intermixed_args(split_line(line))
        if options.help:
            print(_USAGE)
            return None
        if not options.processes:
            raise UsageError(f"name at least one process, as NAME=FUNC\n\n{_USAGE}")
        if not options.result.isidentifier():
            raise UsageError(f"--result needs a variable name, not {options.result!r}")
        namespace = self.shell.user_ns
        if cell is not None and cell.strip():
            _run_cell_body(cell, namespace)
        specs = [parse_process(word, namespace) for word in options.processes]
        try:
            sim = Simulation(options.seed, policy=options.policy, epoch=options.epoch)
        except ValueError as e:
            raise UsageError(str(e)) from None
        for spec in specs:
            sim.spawn(spec.name, spec.target, spec.args, spec.kwargs)
        try:
            result = sim.run()
        except DeadlockError as e:
            raise _short(e) from None
        namespace[options.result] = result
        return result


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext netsim``: registers the ``%netsim`` magics."""
    ipython.register_magics(NetsimMagics)


__all__ = ["NetsimMagics", "load_ipython_extension"]
