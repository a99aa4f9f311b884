"""The in-process API: run Python servers and clients together on netsim's virtual
network, in virtual time, with one seeded scheduler."""

from __future__ import annotations

import builtins
import datetime
import functools
import importlib.util
import json
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from netsim import _core, _exit, _interrupt, _patch, _policy, _portable, _threading, scenario as _scenario
from netsim._outputs import TraceOutputs, coloured_name
from netsim._traceback import format_exception

DeadlockError = _core.DeadlockError


@dataclass(frozen=True)
class ProcessResult:
    """How one simulated process ended."""

    pid: int
    name: str
    status: int  #: exit status; 143 when the run stopped it
    killed: bool  #: still running when the last process ended


@dataclass(frozen=True)
class Result(TraceOutputs):
    """What a run produced. ``str(result)`` is the transcript; ``formatted()``,
    ``diagram()`` and ``pcap()`` give the other outputs of the run, and a notebook
    shows it as HTML (the transcript, a summary, the sequence diagram)."""

    transcript_bytes: bytes  #: every line the tasks printed, "name: line", exactly
    exit_status: int  #: of the last spawned process, as with ``simrun``
    elapsed: float  #: virtual seconds the run took
    processes: list[ProcessResult]
    # The simulation, kept for its trace: writing a long trace as JSON costs more
    # than many runs, so it is written only when somebody asks for it.
    _sim: Any = field(repr=False, compare=False)
    #: the first difference between what a task sent and the cassette, or why a
    #: recording failed (docs/cassettes.md); "" when none
    cassette: str = ""

    @functools.cached_property
    def trace_jsonl(self) -> str:
        """The core's event trace, one JSON object per line."""
        return self._sim.trace().jsonl()

    @property
    def transcript(self) -> str:
        """The transcript as text (bytes that are not UTF-8 shown as ``\\xNN``)."""
        return self.transcript_bytes.decode("utf-8", "backslashreplace")

    @property
    def trace(self) -> list[dict[str, Any]]:
        """The core's events (spawn, connect, send, ...) as dictionaries, in order."""
        return [json.loads(line) for line in self.trace_jsonl.splitlines()]

    def __str__(self) -> str:
        return self.transcript

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython's terminal display: the transcript, as print() shows it."""
        printer.text(self.transcript)

    def _core_trace(self) -> Any:
        return self._sim.trace()

    def _names(self) -> list[str]:
        return [p.name for p in self.processes]

    def _summary_html(self) -> str:
        def ending(i: int, p: ProcessResult) -> str:
            how = "stopped at the end" if p.killed else f"exit {p.status}"
            return f"{coloured_name(p.name, i)} (pid {p.pid}): {how}"

        return (f"{len(self.processes)} process{'es' if len(self.processes) != 1 else ''}, "
                f"{self.elapsed:.6f} s virtual, exit status {self.exit_status}: "
                + "; ".join(ending(i, p) for i, p in enumerate(self.processes)))


_OnError = Callable[[BaseException], None]


def _task_main(target: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any],
               on_error: _OnError | None) -> int:
    """Runs a process's main task as Python runs a program: the task is the main
    thread, and once its code has ended the process waits for its non-daemon
    threads before it exits. on_error hears of every uncaught exception."""
    _threading.start_process(on_error)
    try:
        status = _exit_status(target, args, kwargs, on_error)
        _threading.shutdown()
    finally:
        _threading.end_process()
    return status


def _exit_status(target: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any],
                 on_error: _OnError | None) -> int:
    """Runs the code and turns its end into an exit status: an uncaught exception
    prints its traceback to the task's stderr (the transcript) and gives 1;
    SystemExit gives its code."""
    try:
        target(*args, **kwargs)
        return 0
    except _core.TaskCancelled:
        raise
    except SystemExit as e:
        return _exit.status_of(e.code)
    except BaseException as e:
        if _core.stopping():
            # Killed (a fault's SIGKILL, the end of the run) while it unwound: an error
            # on the way out (closing a socket the kernel closed already) is not its own.
            raise _core.TaskCancelled from None
        sys.stderr.write(format_exception(e))
        if on_error:
            on_error(e)
        return 1


def _run_path(path: str, argv: Sequence[str]) -> None:
    """Runs a script as `python path argv...` would."""
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    _run_main(code, path, None, argv)


def _run_module(module: str, argv: Sequence[str]) -> None:
    """Runs a module as `python -m module argv...` would (a package runs its
    __main__), even when the module is imported already."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations is not None:
        spec = importlib.util.find_spec(module + ".__main__")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    _run_main(spec.loader.get_code(spec.name), spec.origin, spec, argv)


def _run_main(code, path: str, spec, argv: Sequence[str]) -> None:
    """Executes code as the program's __main__ module, in a module of its own.

    Not runpy: it swaps sys.modules["__main__"] in and out, and the swaps of tasks
    that interleave would leave one program's module in place of the caller's."""
    sys.argv = [path, *argv]
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = builtins
    if spec is not None:
        module.__spec__, module.__loader__, module.__package__ = spec, spec.loader, spec.parent
    exec(code, module.__dict__)


def _check_arguments(seed: object, policy: object, socket_buffer: object,
                     raise_errors: object) -> None:
    """Simulation()'s arguments, each refused with a message that names it and says
    what it takes (pybind11's own TypeError lists C++ signatures)."""

    def integer(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not integer(seed):
        raise TypeError(f"seed must be an integer (0 to 2**64-1), not {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if seed >= 2**64:
        raise ValueError(f"seed must be below 2**64, not {seed!r}")
    if (policy_problem := _policy.problem(policy)) is not None:
        raise ValueError(policy_problem)
    if not integer(socket_buffer):
        raise TypeError(f"socket_buffer must be an integer number of bytes, not "
                        f"{type(socket_buffer).__name__}")
    # Linux takes an int for SO_RCVBUF; with 0 the first send would wait forever.
    if not 1 <= socket_buffer < 2**31:
        raise ValueError(f"socket_buffer must be from 1 to 2**31-1 bytes, not {socket_buffer!r}")
    if not isinstance(raise_errors, bool):
        raise TypeError(f"raise_errors must be True or False, not {raise_errors!r}")


class Simulation:
    """A virtual network with its clock, scheduler and trace.

    >>> sim = Simulation(seed=42)
    >>> sim.spawn("server", serve, args=(10000,))   # doctest: +SKIP
    >>> sim.spawn("client", ask, args=("hello",))   # doctest: +SKIP
    >>> print(sim.run())                            # doctest: +SKIP

    Tasks start in spawn order, each once every earlier one is blocked (in
    ``accept``, ``recv``, ``select``, ``sleep``...), so servers listen before their
    clients connect. The run ends when the last spawned task ends; tasks still
    running are then stopped. Inside the tasks, and only there, ``socket``,
    ``select``, ``selectors``, ``time`` and ``print`` use the simulation.
    """

    def __init__(self, seed: int = 0, *, policy: str = "run-until-block",
                 epoch: float | str | datetime.date | None = None, socket_buffer: int = 64 * 1024,
                 raise_errors: bool = False, raw_paths: bool = False,
                 scenario: "_scenario.Scenario | dict[str, Any] | str | os.PathLike[str] | None" = None,
                 record: str | None = None, replay: str | None = None, record_mode: str | None = None,
                 allow: Sequence[str] = (), match: str = "bytes", ignore_headers: Sequence[str] = (),
                 mask: Sequence[str] = (), mask_patterns: Sequence[str] = (),
                 record_server: Sequence[str] = ()) -> None:
        """``policy``: "run-until-block" (a task runs until it blocks), "random"
        (a seeded choice at every scheduling point, to explore interleavings) or
        "pct" (seeded priorities changed at a few seeded points; "pct:D" for depth D).
        ``epoch``: the virtual wall clock at the start, in seconds since 1970, an
        ISO 8601 date or date and time ("2026-12-03", UTC unless it says), or a
        ``datetime``/``date`` (default 2024-01-01T00:00:00Z). ``socket_buffer``: each
        socket's receive buffer in bytes. ``raise_errors``: an uncaught exception in
        any task (its traceback still goes to the transcript) ends the run, and
        ``run()`` raises it; by default the run goes on, as with ``simrun``.
        ``raw_paths``: the transcript shows paths as printed, not in their short
        forms (the working directory's relative, ``<stdlib>/``...: see simrun).
        ``scenario``: hosts, links and faults (docs/faults.md), as a TOML file's path
        or the same data as a dict; its ``[[host]]`` programs are placed by the names
        given to spawn. Raises ValueError naming the file, line and key of a mistake.
        ``record``, ``replay``, ``record_mode``, ``allow``, ``match``,
        ``ignore_headers``, ``mask``, ``mask_patterns`` and ``record_server``: a
        cassette, as :func:`netsim.run_commands` takes it (docs/cassettes.md); its
        services' processes come after the spawned ones (the tasks' pids are the same
        with or without it), and a difference is ``Result.cassette``.

        Warns (HashSeedWarning) when this Python's PYTHONHASHSEED is not the one
        simrun gives a program for ``seed``."""
        _check_arguments(seed, policy, socket_buffer, raise_errors)
        epoch_ns = _portable.parse_epoch(_portable.DEFAULT_EPOCH if epoch is None else epoch, "epoch")
        _portable.check_hash_seed(seed)
        self._scenario = None if scenario is None else _scenario.of(scenario)
        self._sim = _core.Simulation(seed, policy, epoch_ns, socket_buffer,
                                     [] if raw_paths else _portable.short_paths())
        self._cassette = None
        network = None if self._scenario is None else self._scenario.data
        if (record is not None or replay is not None or allow or record_mode or match != "bytes"
                or ignore_headers or mask or mask_patterns or record_server):
            from netsim import _cassette

            self._cassette = _cassette.from_options(record, replay, record_mode, allow, match, ignore_headers,
                                                    mask, mask_patterns, _cassette.API_NAMES, record_server)
            network = _cassette.with_hosts(network, self._cassette)
        if network is not None:
            self._sim.apply(network)
        self._deck = None  # made by run(), after the spawns, as simrun makes it
        self._programs: list[str] = []
        self._ran = False
        self._raise_errors = raise_errors
        self._error: BaseException | None = None

    def add_host(self, name: str, *addresses: str) -> None:
        """Adds a machine with its own addresses (and its own loopback), reachable
        from every other host; ``spawn(..., host=name)`` runs a task on it."""
        self._sim.add_host(name, list(addresses))

    def spawn(self, name: str, target: Callable[..., Any], args: Iterable[Any] = (),
              kwargs: dict[str, Any] | None = None, *, host: str | None = None) -> int:
        """Adds a process named ``name`` that calls ``target(*args, **kwargs)``.
        Names are made unique ("client", "client-2"). Returns its virtual pid."""
        if not callable(target):
            raise TypeError(f"target must be callable, not {type(target).__name__}")
        args, kwargs = tuple(args), dict(kwargs or {})
        on_error = self._failed if self._raise_errors else None
        self._programs.append(name)
        return self._sim.spawn(name, lambda: _task_main(target, args, kwargs, on_error), host)

    def _failed(self, error: BaseException) -> None:
        # Runs in the failing task; the run ends at its next switch.
        if self._error is None:
            self._error = error
            error.add_note(f"(raised in the netsim task {_core.task_name()!r}, pid {_core.pid()}, "
                           f"at virtual time {_core.elapsed_ns() / 1e9:.6f} s)")
            self._sim.stop()

    def spawn_script(self, name: str | None, path: str | os.PathLike[str],
                     argv: Iterable[str] = (), *, host: str | None = None) -> int:
        """Adds a process that runs a Python script as ``__main__`` with ``sys.argv``
        set to ``[path, *argv]``. ``name`` defaults to the script's stem."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such script: {path}")
        name = name or os.path.splitext(os.path.basename(path))[0]
        return self.spawn(name, _run_path, (path, list(argv)), host=host)

    def spawn_module(self, name: str | None, module: str, argv: Iterable[str] = (),
                     *, host: str | None = None) -> int:
        """Adds a process that runs ``python -m module argv...``."""
        return self.spawn(name or module.rpartition(".")[2], _run_module, (module, list(argv)), host=host)

    def run(self) -> Result:
        """Runs every process; see the class docstring. Raises DeadlockError (with
        the core's report of who waits for what) when every task is blocked and no
        timer is pending. With ``raise_errors``, raises a task's uncaught exception,
        which then carries the run's Result as ``netsim_result``. A Ctrl-C (SIGINT,
        on the main thread) stops the run: every task is unwound, and run() raises
        KeyboardInterrupt, carrying the Result too."""
        if self._ran:
            raise RuntimeError("run() was called already: make a new Simulation to run again")
        if self._scenario is not None:
            from netsim.simrun import _unique  # the names the core gives: client, client-2

            self._scenario.check_programs(_unique(self._programs))
        self._ran = True
        if self._cassette is not None:
            from netsim import _cassette

            self._deck = _core.CassetteDeck(self._sim, _cassette.core_options(self._cassette))
        _patch.install()
        try:
            with _interrupt.sigint_watched() as wakeup_fd:
                outcome = self._sim.run(wakeup_fd)
        finally:
            _patch.uninstall()
        result = Result(
            transcript_bytes=self._sim.transcript(),
            exit_status=outcome["exit_status"],
            elapsed=outcome["elapsed_ns"] / 1e9,
            processes=[ProcessResult(*p) for p in outcome["processes"]],
            _sim=self._sim,
            cassette=self._finish_cassette(),
        )
        if outcome["interrupted"]:
            interrupt = KeyboardInterrupt()
            interrupt.netsim_result = result
            raise interrupt
        if self._error is not None:
            self._error.netsim_result = result
            raise self._error
        return result

    def _finish_cassette(self) -> str:
        if self._cassette is None:
            return ""
        from netsim import _cassette

        return _cassette.finish(self._cassette, self._deck.outcome())


def run_scripts(paths: Iterable[str | os.PathLike[str]], seed: int = 0, **options: Any) -> Result:
    """Runs Python scripts together, like ``simrun --seed SEED a.py b.py``."""
    sim = Simulation(seed, **options)
    for path in paths:
        sim.spawn_script(None, path)
    return sim.run()
