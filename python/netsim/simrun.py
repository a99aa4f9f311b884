"""``simrun``: real programs, run together on netsim's simulated network.

Each program runs as a real child process with netsim's shim preloaded: its
sockets, clocks, sleeps, threads and randomness are the simulation's, so the
programs print the same bytes, in the same order, on every run with the same seed.
The command line is :func:`main`; :func:`run_commands` is the same from Python (a
notebook, a test)::

    >>> import netsim
    >>> report = netsim.run_commands(["server.py", "client.py"], seed=42)  # doctest: +SKIP
    >>> print(report)                                                       # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import re
import shlex
import signal
import sys

import netsim
from netsim import _core, _explore_cli, _outputs_cli, _portable
from netsim._outputs import TraceOutputs, coloured_name

# Every simrun imports this module: typing, dataclasses (with inspect) and shutil
# would be more than half of its import time, so none of them is imported here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Sequence

    # Imported where a scenario is given: the parser and tomllib cost a run without
    # one 17 ms of start-up.
    from netsim import scenario as _scenario

_EPILOG = """\
A COMMAND is a Python script (server.py), run with simrun's own Python, or a quoted
command line, split as a shell would ("python3 -m http.server -d site 8000"). A
command line whose program is python, python3 or python3.X also runs with simrun's
own Python, never with a python found on PATH (which may be a wrapper script). The
programs start in the order given, each once every earlier one is blocked (in
accept, recv, select, sleep...), so servers listen before their clients connect.
The run ends when the last COMMAND exits; the programs still running are then
stopped with SIGTERM (--stop-signal), each named by one line on its stderr:
"server: netsim: stopped by SIGTERM at the end of the run".

The same command prints the same bytes from any directory, user, host or Python
installation: paths under the working directory are shown relative to it, the
standard library as <stdlib>/, site-packages as <site-packages>/, the rest of
the Python installation as <python>/ and HOME as ~/ (--raw-paths: as printed).
The programs get PYTHONHASHSEED (from --seed), LANG and LC_ALL (C.UTF-8), TZ
(UTC), USER and LOGNAME (netsim) whatever simrun's are; uname, the host name and
the CPU count are the simulated host's.

Every line a program writes to stdout or stderr is printed as "NAME: line", in
simulated order. NAME is the script's stem (client.py: client), for "python -m
MODULE" the module's last component (http.server: server, as in netsim's
spawn_module), else the program's file name; any character other than a letter,
a digit, '.', '_' or '-' in it becomes '_' (my:app.py: my_app), so a line's prefix
is always a process's name. Repeated names get -2, -3... (client, client-2).
--name OLD=NEW renames the command shown as OLD; two commands may not be shown
under the same name. Words after "--" are all COMMANDs, even those starting with
"-" (simrun --seed 1 -- -client.py).

examples:
  simrun --seed 42 server.py client.py
  simrun "python3 -m http.server -d site 8000" client.py
  simrun --name client=alice --name client-2=bob server.py client.py client.py
  simrun -o echo.transcript echo_server.py echo_client.py
  simrun --check echo.transcript echo_server.py echo_client.py
  simrun --stdin nc=message.txt echo_server.py "nc -N localhost 10000"

network and faults (docs/faults.md):
  simrun --latency 50ms --loss 5% server.py client.py
      every link 50 ms one way, 5% of datagrams lost (TCP resends: loss is delay);
      a host's loopback included, so one machine shows them too
  simrun --host web=server --host laptop=client --rate 1Mbit/s server.py client.py
      the server on host "web", the client on "laptop": the client reaches the
      server as web (its name resolves), over a 1 Mbit/s link
  simrun --scenario faults.toml server.py client.py
      hosts, per-link conditions and faults (a partition at 2s, a kill and restart,
      reads sliced to 3 bytes...) from a TOML file; options given here override it
  Each fault that fires is a line of the transcript, such as "netsim: partition
  web | laptop at 2.000s"; --no-annotate leaves them out.

The transcript goes to stdout, byte for byte; with -o FILE to FILE instead, and with
--check FILE it is compared with FILE: stdout then holds the unified diff (nothing
when they are equal); FILE is never written to. Problems (a deadlock, the watchdog)
are reported on stderr. When stdout is a closed pipe (simrun ... | head), simrun
stops quietly with status 141, as a program killed by SIGPIPE.

exit status:
  the last command's (as a shell reports it: 128 + N after signal N); with
       --check, 0 when the transcript is the saved one
  1    --check found a difference, --strict found a failure, a deadlock, a program
       departed from the --replay cassette (or --record failed), or the
       transcript could not be written (a full disk)
  2    bad input (a missing file, an unknown option, a bad seed, a closed stdout
       with nowhere else to write...), a command that could not be started, or
       simrun run by a program under simrun
  124  --timeout fired (a timeout above 1e9 s, about 31 years, means none)
  130  simrun was interrupted (SIGINT or SIGTERM), from its start on
  141  stdout was a pipe closed by its reader

The shim is libnetsim_shim.so next to netsim's _core module; the environment
variable NETSIM_SHIM overrides its path.
"""

# The programs simrun runs with its own interpreter: what `python3` on PATH finds may
# be a wrapper script (pyenv's shims are bash) or another Python.
_PYTHON = re.compile(r"python(3(\.[0-9]+)?)?")
# As the %netsim magic has them: no spaces and no ":", the transcript's separator.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.\-]")
# Longer, the runner's watchdog would overflow its clock (64-bit nanoseconds since
# boot); nobody means a finite limit of more than 31 years.
_NO_LIMIT = 1e9
# Signs of a program running under the shim: a simrun started there would run its
# programs under the outer run's shim, where they wait for a turn that never comes.
# The shim clears its own variables once it has read them; LD_PRELOAD stays.
_SHIM_VARIABLES = ("NETSIM_SHIM_FD", "NETSIM_SHIM_REGION")
_SHIM_FILE = "libnetsim_shim.so"
# CPython's options that take a value (python -W error script.py); -c and -m end
# the options, as the program to run.
_PYTHON_VALUE_OPTIONS = "cmWX"
_PYTHON_LONG_VALUE_OPTIONS = {"--check-hash-based-pycs"}


class UsageError(ValueError):
    """Bad input: a missing file, a program not on PATH, a bad name. The message is
    one line that says what is wrong and what to do."""


class ProcessReport(collections.namedtuple("ProcessReport", "name pid status outcome stopped")):
    """How one program ended: ``name``; ``pid`` (virtual); ``status`` as a shell
    reports it (the exit code, or 128 + signal); ``outcome`` ("exited with status
    0", "killed by SIGSEGV", "stopped by SIGINT at the end of the run, status
    130"...); ``stopped``: still running when the last command ended, so simrun
    stopped it."""

    __slots__ = ()


class RunReport(TraceOutputs):
    """What a run produced. ``str(report)`` is the transcript; ``formatted()``,
    ``diagram()`` and ``pcap()`` give simrun's other outputs, and a notebook shows
    it as HTML (the transcript, a summary, the sequence diagram). Read-only; two
    reports are equal when their fields (all but the trace) are.

    - ``transcript_bytes``: every line the programs wrote, "NAME: line", exactly
    - ``exit_status``: of the last command
    - ``processes``: a list of ProcessReport, in command order
    - ``problem``: why the run ended before the last command did (a deadlock report,
      the watchdog's message, the interruption); "" when it ended on its own
    - ``deadlock``, ``timed_out``, ``interrupted``: which of those it was
    - ``warning``: why the run went without the kernel's backstop (its namespaces);
      "" when it had it
    - ``hint``: what the user may not guess from the transcript (a TLS certificate
      refused for its dates: the virtual date and how to change it); "" when nothing
    - ``unsupported``: the calls netsim does not simulate that the programs made
      (they failed with ENOSYS), each once: "NAME: what (the call failed with ENOSYS)"
    - ``cassette``: the first difference between what a program sent and the
      cassette, or why a recording failed (docs/cassettes.md); "" when none
    """

    # A plain class, not a dataclass: see the imports.
    _FIELDS = ("transcript_bytes", "exit_status", "processes", "problem", "deadlock", "timed_out",
               "interrupted", "warning", "hint", "unsupported", "cassette")

    def __init__(self, transcript_bytes: bytes, exit_status: int, processes: list[ProcessReport],
                 problem: str, deadlock: bool, timed_out: bool, interrupted: bool, warning: str = "",
                 hint: str = "", unsupported: tuple[str, ...] = (), cassette: str = "",
                 _trace: Any = None) -> None:
        values = locals()
        self.__dict__.update({name: values[name] for name in (*self._FIELDS, "_trace")})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a RunReport is read-only: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a RunReport is read-only: cannot delete {name}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if type(other) is type(self) else NotImplemented

    def __repr__(self) -> str:
        return f"RunReport({', '.join(f'{name}={getattr(self, name)!r}' for name in self._FIELDS)})"

    @property
    def transcript(self) -> str:
        """The transcript as text (bytes that are not UTF-8 shown as ``\\xNN``)."""
        return self.transcript_bytes.decode("utf-8", "backslashreplace")

    def __str__(self) -> str:
        return self.transcript

    def __getstate__(self) -> dict[str, Any]:
        # The trace stays in the process that ran (netsim.explore's workers send
        # their reports back pickled).
        return {**self.__dict__, "_trace": None}

    def _core_trace(self) -> Any:
        return self._trace

    def _names(self) -> list[str]:
        return [p.name for p in self.processes]

    def _summary_html(self) -> str:
        return "; ".join(f"{coloured_name(p.name, i)} (pid {p.pid}): {p.outcome}"
                         for i, p in enumerate(self.processes))


def run_commands(commands: Sequence[str | Sequence[str]], seed: int = 0,
                 timeout: float | None = None,
                 names: Mapping[str, str] | None = None,
                 stdin: Mapping[str, bytes] | None = None,
                 policy: str = "run-until-block", schedule_seed: int | None = None,
                 epoch: object = None, stop_signal: str | int = "TERM",
                 raw_paths: bool = False,
                 scenario: "_scenario.Scenario | Mapping[str, object] | str | os.PathLike[str] | None" = None,
                 record: str | None = None, replay: str | None = None,
                 record_mode: str | None = None, allow: Sequence[str] = (), match: str = "bytes",
                 ignore_headers: Sequence[str] = (), mask: Sequence[str] = (),
                 mask_patterns: Sequence[str] = (), record_server: Sequence[str] = ()) -> RunReport:
    """Runs the commands as ``simrun --seed SEED COMMAND...`` does and returns what
    happened. A command is a string as on simrun's command line (``"server.py"``,
    ``"python3 -m http.server 8000"``) or an argv list (``["nc", "localhost",
    "10000"]``). ``timeout``: wall-clock seconds. ``names`` maps a command's name to
    the one to show, as ``--name OLD=NEW``. ``stdin`` maps a name (as shown) to the
    bytes its program reads on stdin, as ``--stdin NAME=FILE``; the others read an
    empty stdin. ``policy`` and ``schedule_seed``: as ``--policy`` and
    ``--schedule-seed``. ``epoch``, ``stop_signal`` and ``raw_paths``: as ``--epoch``
    (a date, ISO 8601 text or seconds), ``--stop-signal`` and ``--raw-paths``.
    ``scenario``: hosts, links and faults, as ``--scenario``: a TOML file's path, the
    same data as a dict, or a :class:`netsim.scenario.Scenario`. ``record``,
    ``replay``, ``record_mode``, ``allow``, ``match``, ``ignore_headers``, ``mask``,
    ``mask_patterns`` and ``record_server``: a cassette, as ``--record`` and its
    options (docs/cassettes.md); a difference from it is in ``RunReport.cassette``.

    Raises UsageError (a ValueError) for bad input, TypeError for arguments of the
    wrong type, FileNotFoundError when the shim library is missing, RuntimeError when
    a command cannot be started."""
    _refuse_nested()
    for option, value in (("seed", seed), ("schedule_seed", 0 if schedule_seed is None else schedule_seed)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
            raise ValueError(f"{option} must be a non-negative integer below 2**64, not {value!r}")
    if isinstance(commands, (str, bytes)):
        raise TypeError(f"commands is a list of commands (e.g. [\"server.py\", \"client.py\"]), "
                        f"not the string {commands!r}")
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(f"timeout is a number of seconds or None, not {timeout!r}")
        shown = repr(timeout)
        if isinstance(timeout, int):  # float() of a huge one overflows; huge means no limit
            timeout = float(min(timeout, 2 * _NO_LIMIT)) if timeout > 0 else -1.0
        timeout = _check_timeout(timeout, "timeout", shown)
    portable = _portable_options(epoch, stop_signal, raw_paths, "epoch", "stop_signal")
    planned = plan(commands, names)
    network = None
    if scenario is not None:
        from netsim import scenario as _scenario

        try:
            checked = _scenario.of(scenario)
            checked.check_programs([name for name, _ in planned])
        except ValueError as e:
            raise UsageError(str(e)) from None
        network = checked.data
    cassette = _cassette_plan(record, replay, record_mode, allow, match, ignore_headers, mask,
                              mask_patterns, record_server, None)
    return _run(planned, seed, timeout, "", shim_path(), _check_inputs(planned, dict(stdin or {})),
                policy=policy, schedule_seed=schedule_seed, scenario=network, cassette=cassette,
                **portable)


_CLI_NAMES = {"record": "--record", "replay": "--replay", "record_mode": "--record-mode",
              "allow": "--allow", "match": "--match", "record_server": "--record-server"}


def _cassette_plan(record: str | None, replay: str | None, mode: str | None, allow: Sequence[str],
                   match: str, ignore: Sequence[str], masks: Sequence[str], patterns: Sequence[str],
                   servers: Sequence[str], names: dict[str, str] | None) -> Any:
    """The run's cassette plan (netsim._cassette), None without one; raises UsageError.
    The module is imported only by runs with a cassette. ``names``: the options as
    simrun spells them; None: as Python's keywords."""
    if record is None and replay is None and not (allow or mode or ignore or masks or patterns
                                                  or servers or match != "bytes"):
        return None
    from netsim import _cassette

    try:
        return _cassette.from_options(record, replay, mode, allow, match, ignore, masks, patterns,
                                      names or _cassette.API_NAMES, servers)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _refuse_nested() -> None:
    preloaded = re.split(r"[ :]", os.environ.get("LD_PRELOAD", ""))
    if (any(variable in os.environ for variable in _SHIM_VARIABLES)
            or any(os.path.basename(path) == _SHIM_FILE for path in preloaded)):
        raise UsageError("simrun cannot run under simrun (this program already runs on a simulated "
                         "network): run it directly, or list its commands in the outer simrun")


def plan(commands: Sequence[str | Sequence[str]],
         names: Mapping[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """The (name, argv) of each command, names unique as the transcript shows them,
    after checking that every script and program exists. Raises UsageError."""
    if not commands:
        raise UsageError("no command given: name the programs to run, e.g. simrun server.py client.py")
    path = os.environ.get("PATH", os.defpath)
    resolved = [_resolve(command, number, path) for number, command in enumerate(commands, 1)]
    unique = _unique([_NOT_IN_NAME.sub("_", name) for name, _ in resolved])
    renamed = list(unique)
    for old, new in (names or {}).items():
        if not _NAME.match(new):
            raise UsageError(f"--name {old}={new}: a name is one word of letters, digits, '.', "
                             "'_' or '-'")
        if old not in unique:
            raise UsageError(f"--name {old}={new}: no command is named {old!r}; "
                             f"the names are {', '.join(unique)}")
        renamed[unique.index(old)] = new
    for name in renamed:
        if renamed.count(name) > 1:
            raise UsageError(f"--name: two commands would both be shown as {name!r}; give each "
                             f"its own name (the names are {', '.join(unique)})")
    return list(zip(renamed, (argv for _, argv in resolved)))


def _on_path(program: str, path: str) -> str | None:
    import shutil  # here: see the imports

    return shutil.which(program, path=path)


def _resolve(command: str | Sequence[str], number: int, path: str) -> tuple[str, list[str]]:
    """A command's name and argv: scripts and python command lines get simrun's
    interpreter, other programs must be found."""
    where = f"(command {number}: {command!r})"
    if isinstance(command, str):
        if command.endswith(".py") and os.path.isfile(command):
            words = [command]  # a script whose path has spaces
        else:
            try:
                words = shlex.split(command)
            except ValueError as e:
                raise UsageError(f"cannot split {command!r} into words: {e}; check its quotes") from None
    else:
        words = list(command)
    if not words or not words[0]:
        raise UsageError(f"empty command {where}: give a script or a quoted command line")
    program, args = words[0], words[1:]
    if program.endswith(".py"):
        # "--": a script named -x.py is not an option of the interpreter.
        return _script_name(program, where), [sys.executable, *(["--"] if program.startswith("-") else []), *words]
    if "/" not in program and _PYTHON.fullmatch(program):
        return _python_name(program, args, where), [sys.executable, *args]
    if "/" in program:
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise UsageError(f"no such program: {program} {where}; check the path and that it is executable")
    elif _on_path(program, path) is None:
        raise UsageError(f"{program}: not found on PATH {where}; install it or give its path")
    return os.path.basename(program), words


def _script_name(script: str, where: str) -> str:
    if not os.path.isfile(script):
        raise UsageError(f"no such file: {script} {where}; check the path (relative to {os.getcwd()})")
    return os.path.splitext(os.path.basename(script))[0]


def _python_name(program: str, args: list[str], where: str) -> str:
    """The name of `python ARGS...`: the script's stem, the module's last component
    for -m, else the program's own name (-c, or the interactive interpreter)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if arg == "-" or not arg.startswith("-"):
            break
        if arg.startswith("--"):
            i += 2 if arg in _PYTHON_LONG_VALUE_OPTIONS else 1
            continue
        for j, letter in enumerate(arg[1:], 2):
            if letter in _PYTHON_VALUE_OPTIONS:
                value = arg[j:] or (args[i + 1] if i + 1 < len(args) else "")
                if letter == "m" and value:
                    return value.rpartition(".")[2]
                if letter == "c":
                    return program
                i += 1 if arg[j:] else 2
                break
        else:
            i += 1
    if i < len(args) and args[i] != "-":
        return _script_name(args[i], where)
    return program


def _unique(names: list[str]) -> list[str]:
    """Names told apart as the core tells a repeated process name apart: the second
    "client" becomes "client-2"."""
    taken: list[str] = []
    for name in names:
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}-{n}", n + 1
        taken.append(unique)
    return taken


def shim_path() -> str:
    """The preload library: $NETSIM_SHIM, else libnetsim_shim.so next to _core.
    Raises FileNotFoundError naming where it looked, or saying that this build of
    netsim has no simrun."""
    if not _core.has_simrun:
        raise FileNotFoundError("this build of netsim has no simrun (it was built with "
                                "NETSIM_SHIM=OFF); simrun needs Linux x86-64 and a build with the "
                                "shim, while netsim.Simulation works without it")
    override = os.environ.get("NETSIM_SHIM")
    path = override or os.path.join(os.path.dirname(netsim.__file__), "libnetsim_shim.so")
    if not os.path.isfile(path):
        fix = ("set NETSIM_SHIM to the path of libnetsim_shim.so" if override else
               "reinstall netsim (pip install .) or set NETSIM_SHIM to its path")
        raise FileNotFoundError(f"the shim library {path} is missing: {fix}")
    return path


def _check_inputs(commands: list[tuple[str, list[str]]],
                  inputs: dict[str, bytes]) -> dict[str, bytes]:
    shown = [name for name, _ in commands]
    for name in inputs:
        if name not in shown:
            raise UsageError(f"--stdin {name}=...: no command is named {name!r} "
                             f"(the names are {', '.join(shown)})")
    return inputs


def _read_inputs(pairs: list[str]) -> dict[str, bytes]:
    inputs: dict[str, bytes] = {}
    for pair in pairs:
        name, equals, path = pair.partition("=")
        if not (name and equals and path):
            raise UsageError(f"--stdin takes NAME=FILE (e.g. --stdin client=input.txt), not {pair!r}")
        if name in inputs:
            raise UsageError(f"--stdin {name}=...: given twice; give each command one stdin")
        if path == "-":
            inputs[name] = sys.stdin.buffer.read()
            continue
        try:
            with open(path, "rb") as f:
                inputs[name] = f.read()
        except OSError as e:
            raise UsageError(f"cannot read --stdin {path}: {e.strerror}") from None
    return inputs


def _run(commands: list[tuple[str, list[str]]], seed: int, timeout: float | None,
         trace: str, shim: str, inputs: dict[str, bytes], policy: str = "run-until-block",
         schedule_seed: int | None = None, env: list[str] | None = None,
         epoch_ns: int | None = None, stop_signal: int = signal.SIGTERM,
         raw_paths: bool = False, scenario: dict | None = None, cassette: Any = None) -> RunReport:
    if env is None:
        env = [f"{k}={v}" for k, v in os.environ.items()]
    epoch_ns = _portable.DEFAULT_EPOCH * 10**9 if epoch_ns is None else epoch_ns
    core_cassette = None
    if cassette is not None:
        from netsim import _cassette

        try:
            core_cassette = _cassette.core_options(cassette)
        except ValueError as e:
            raise UsageError(str(e)) from None
        scenario = _cassette.with_hosts(scenario, cassette)
    try:
        out = _core.run_commands(commands, seed=seed, shim=shim, env=env, timeout=timeout,
                                 trace=trace, inputs=inputs, policy=policy,
                                 schedule_seed=schedule_seed, epoch_ns=epoch_ns,
                                 stop_signal=int(stop_signal),
                                 short_paths=[] if raw_paths else _portable.short_paths(),
                                 scenario=scenario, cassette=core_cassette)
    except ValueError as e:  # an unknown policy, a scenario the core refuses
        raise UsageError(str(e)) from None
    problem = "" if cassette is None else _cassette.finish(cassette, out["cassette"])
    return RunReport(
        transcript_bytes=out["transcript"],
        exit_status=out["exit_status"],
        processes=[ProcessReport(*p) for p in out["processes"]],
        problem=out["problem"],
        deadlock=out["deadlock"],
        timed_out=out["timed_out"],
        interrupted=out["interrupted"],
        warning=out["warning"],
        hint=_portable.certificate_hint(out["transcript"], epoch_ns, '--epoch "$(date -u +%FT%TZ)"'),
        unsupported=tuple(out["unsupported"]),
        cassette=problem,
        _trace=out["trace"],
    )



class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}; see simrun --help")


def _parser() -> _Parser:
    parser = _Parser(
        prog="simrun", usage="simrun [options] COMMAND [COMMAND ...]", allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG + "\n" + _explore_cli.HELP + "\n" + _outputs_cli.HELP,
        description="Runs real programs together on netsim's simulated network, in virtual\n"
                    "time, and prints one transcript: the same seed gives the same bytes on\n"
                    "every run.")
    parser.add_argument("commands", nargs="*", metavar="COMMAND",
                        help="a Python script or a quoted command line, in start order")
    parser.add_argument("--seed", default="0", metavar="N",
                        help="seeds ephemeral ports, randomness and the schedule (default 0)")
    parser.add_argument("-o", dest="output", metavar="FILE",
                        help="write the transcript to FILE instead of stdout")
    parser.add_argument("--check", metavar="FILE",
                        help="compare the transcript with FILE, a saved one; print a unified "
                             "diff on stdout; exit 0 when they are equal, 1 when they differ")
    parser.add_argument("--trace", metavar="FILE",
                        help="write the core's event trace to FILE as JSON lines")
    parser.add_argument("--timeout", metavar="SECONDS",
                        help="wall-clock watchdog: stop a run still going after SECONDS "
                             "(exit status 124)")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 1) when any program crashes or exits non-zero")
    parser.add_argument("--name", action="append", default=[], metavar="OLD=NEW",
                        help="show the command named OLD as NEW (repeatable)")
    parser.add_argument("--stdin", action="append", default=[], metavar="NAME=FILE",
                        help="feed FILE ('-': simrun's own stdin) to the stdin of the command "
                             "shown as NAME (repeatable); the others read an empty stdin")
    # The run's portability and its end (issue 10).
    parser.add_argument("--epoch", metavar="DATE",
                        help="the virtual date and time at the start: ISO 8601 (2026-12-03, "
                             "2026-12-03T09:30:00Z) or seconds since 1970 (default 2024-01-01, UTC)")
    parser.add_argument("--stop-signal", default="TERM", metavar="SIGNAL",
                        help="what stops the programs still running when the last command ends "
                             "(default TERM; INT shows what Ctrl-C would: KeyboardInterrupt)")
    parser.add_argument("--raw-paths", action="store_true",
                        help="show paths as the programs printed them, not in their short forms")
    network = parser.add_argument_group("network and faults (see docs/faults.md)")
    network.add_argument("--scenario", metavar="FILE",
                         help="hosts, links and faults from a TOML file")
    network.add_argument("--host", action="append", default=[], metavar="NAME=PROGRAM",
                         help="run the command shown as PROGRAM on host NAME (made if the "
                              "scenario has none; repeatable)")
    network.add_argument("--latency", metavar="DURATION",
                         help="one-way delay of every link, loopback included: 50ms, 1.5s")
    network.add_argument("--jitter", metavar="DURATION",
                         help="each packet's delay varies by up to this much, from the seed")
    network.add_argument("--rate", metavar="RATE", help="bandwidth of every link: 1Mbit/s, 10MB/s")
    network.add_argument("--loss", metavar="PERCENT",
                         help="datagrams lost on every link (TCP resends them: delay): 5%%")
    cassettes = parser.add_argument_group("cassettes: real services recorded once, replayed (see docs/cassettes.md)")
    cassettes.add_argument("--record", metavar="CASSETTE",
                           help="let the programs reach the --allow services, and record what they say")
    cassettes.add_argument("--replay", metavar="CASSETTE",
                           help="play the recorded services back, with no network; a difference fails the run")
    cassettes.add_argument("--allow", action="append", default=[], metavar="HOST:PORT",
                           help="a service --record lets the programs reach (repeatable)")
    cassettes.add_argument("--record-server", action="append", default=[], metavar="HOST:PORT",
                           help="with --record: record what a simulated server listening there "
                                "answers, to --replay its clients later without it (repeatable)")
    cassettes.add_argument("--record-mode", metavar="MODE",
                           help="with --record: all (the default: record again), once (record when the "
                                "cassette is missing, else replay), new_episodes (replay the recorded "
                                "connections, record the ones beyond them), none (replay)")
    cassettes.add_argument("--match", default="bytes", metavar="bytes|http",
                           help="how what a program sends must match: every byte (the default), or "
                                "HTTP/1.x request by request, without the --ignore-header headers")
    cassettes.add_argument("--ignore-header", action="append", default=[], metavar="NAME",
                           help="with --match http: a request header that may differ (Date and "
                                "User-Agent always may)")
    cassettes.add_argument("--mask", action="append", default=[], metavar="HEADER",
                           help="write this header's values as *** in the cassette (Authorization, Cookie)")
    cassettes.add_argument("--mask-pattern", action="append", default=[], metavar="REGEX",
                           help="write what matches in the services' replies as *** in the cassette")
    network.add_argument("--no-annotate", action="store_true",
                         help="leave the \"netsim: ...\" line of each fault out of the transcript")
    _explore_cli.add_options(parser)
    _outputs_cli.add_options(parser)
    return parser


def _portable_options(epoch: object, stop_signal: str | int, raw_paths: bool, epoch_option: str,
                      stop_option: str) -> dict:
    """_run's keywords for --epoch, --stop-signal and --raw-paths. Raises UsageError."""
    try:
        epoch_ns = None if epoch is None else _portable.parse_epoch(epoch, epoch_option)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None
    return {"epoch_ns": epoch_ns, "stop_signal": _parse_signal(stop_signal, stop_option),
            "raw_paths": bool(raw_paths)}


def _parse_signal(value: str | int, option: str) -> signal.Signals:
    """TERM, SIGTERM, term or 15. SIGKILL leaves no cleanup, and SIGSTOP and SIGCONT
    stop nothing: refused."""
    text = str(value).strip().upper()
    try:
        number = signal.Signals(int(text)) if text.isdigit() else signal.Signals[
            text if text.startswith("SIG") else "SIG" + text]
    except (KeyError, ValueError):
        raise UsageError(f"{option} takes a signal name or number (TERM, INT, HUP, 15...), "
                         f"not {value!r}") from None
    if number in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT, signal.SIGCHLD):
        raise UsageError(f"{option} {value}: {number.name} does not let a program stop on its own; "
                         "give TERM, INT or HUP")
    return number


def _scenario_of(args: argparse.Namespace, commands: list[tuple[str, list[str]]]) -> dict | None:
    """The run's scenario data from --scenario and the options on top of it; None
    when none of them is given. Raises UsageError naming the file, line and key."""
    conditions = {key: getattr(args, option) for key, option in
                  (("delay", "latency"), ("jitter", "jitter"), ("rate", "rate"), ("loss", "loss"))
                  if getattr(args, option) is not None}
    if args.scenario is None and not (args.host or conditions or args.no_annotate):
        return None
    from netsim import scenario as _scenario

    try:
        base = _scenario.load(args.scenario) if args.scenario is not None else _scenario.from_dict({})
        merged = _scenario.with_options(base, args.host, conditions, False if args.no_annotate else None)
        merged.check_programs([name for name, _ in commands])
    except ValueError as e:
        raise UsageError(str(e)) from None
    return merged.data


def _parse_seed(text: str) -> int:
    if re.fullmatch(r"[0-9]+", text) and int(text) < 2**64:
        return int(text)
    raise UsageError(f"--seed takes a non-negative integer below 2**64, not {text!r}")


def _parse_timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    return _check_timeout(seconds, "--timeout", repr(text))


def _check_timeout(seconds: float, what: str, shown: str) -> float | None:
    """The watchdog's seconds, None for no limit. Raises UsageError."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"{what} takes a positive number of seconds, not {shown}")
    return None if seconds > _NO_LIMIT else seconds


def _parse_names(pairs: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for pair in pairs:
        old, equals, new = pair.partition("=")
        if not (old and equals):
            raise UsageError(f"--name takes OLD=NEW (e.g. --name server=web), not {pair!r}")
        if old in names:
            raise UsageError(f"--name {old}=...: given twice; rename each command once")
        names[old] = new
    return names


def _diff(saved: bytes, path: str, transcript: bytes) -> bytes:
    """A unified diff, as diff -u prints it, of transcripts that need not be UTF-8."""
    import difflib  # for --check alone

    lines = difflib.diff_bytes(difflib.unified_diff, saved.splitlines(keepends=True),
                               transcript.splitlines(keepends=True),
                               os.fsencode(path), b"this run")
    return b"".join(line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n"
                    for line in lines)


def _strict_failures(report: RunReport) -> list[str]:
    """The programs that crashed or exited non-zero on their own: not the servers
    simrun stopped once the last command had ended."""
    return [f"{p.name} ({p.outcome})" for p in report.processes
            if p.status != 0 and not p.stopped]


def main(argv: Sequence[str] | None = None) -> int:
    """``simrun [options] COMMAND [COMMAND ...]``; returns the exit status (see
    ``simrun --help``)."""
    try:
        _refuse_nested()
        args = _parse_args(list(sys.argv[1:] if argv is None else argv))
        seed = _parse_seed(args.seed)
        timeout = _parse_timeout(args.timeout)
        commands = plan(args.commands, _parse_names(args.name))
        inputs = _check_inputs(commands, _read_inputs(args.stdin))
        shim = shim_path()
        saved = None if args.check is None else _read(args.check)
        _check_distinct_files(args)
        if sys.stdout is None and (args.output is None or args.check is not None):
            raise UsageError("stdout is closed, and the transcript (or --check's diff) goes there: "
                             "give -o FILE, or run simrun with an open stdout")
        explore = _explore_cli.wanted(args)
        schedule = _explore_cli.run_options(args)
        portable = _portable_options(args.epoch, args.stop_signal, args.raw_paths, "--epoch",
                                     "--stop-signal")
        _outputs_cli.check(args, explore)
        network = _scenario_of(args, commands)
        cassette = _cassette_plan(args.record, args.replay, args.record_mode, args.allow, args.match,
                                  args.ignore_header, args.mask, args.mask_pattern, args.record_server,
                                  _CLI_NAMES)
        if cassette is not None and explore and cassette.recording:
            raise UsageError("--record does not go with --explore, --seeds or --verify: each run would "
                             "record the cassette anew (and a real service need not answer twice alike); "
                             "record once, then give them --replay CASSETTE")
        # Checked before the run, as a shell checks its redirections: a path that
        # cannot be written is reported before the programs run, not after (and after
        # every other usage error, since checking creates the file).
        for option, path in (("-o", args.output), ("--trace", args.trace), *_outputs_cli.files(args)):
            if path is not None:
                _check_writable(option, path)
    except (UsageError, FileNotFoundError) as e:
        print(f"simrun: {e}", file=sys.stderr)
        return 2
    if explore:
        return _explore_cli.main(args, commands, inputs, seed, timeout, network, cassette)
    try:
        report = _run(commands, seed, timeout, args.trace or "", shim, inputs, **schedule,
                      **portable, scenario=network, cassette=cassette)
    except (RuntimeError, UsageError) as e:
        print(f"simrun: {e}", file=sys.stderr)
        return 2
    printed = _outputs_cli.printed(report, args)
    if args.output is not None:
        try:
            with open(args.output, "wb") as f:
                f.write(printed)
        except OSError as e:
            print(f"simrun: cannot write the transcript to -o {args.output}: {e.strerror}", file=sys.stderr)
            return 1
    failed = _outputs_cli.write_files(report, args)
    if failed:
        print(f"simrun: {failed}", file=sys.stderr)
        return 1
    to_stdout = args.output is None and args.check is None
    shown = _outputs_cli.on_stdout(report, args, sys.stdout, printed) if to_stdout else printed
    return _finish(report, to_stdout, args.check, saved, args.strict, printed, shown)


def _finish(report: RunReport, to_stdout: bool, check: str | None, saved: bytes | None,
            strict: bool, printed: bytes, shown: bytes) -> int:
    """Prints the transcript (``shown``: ``printed`` as stdout shows it) or the
    diff of ``printed`` against the saved one, then what went wrong; returns the
    exit status. An interrupted run is not compared: it stopped wherever Ctrl-C
    caught it."""
    if report.warning:
        print(f"simrun: warning: {report.warning}", file=sys.stderr)
    for call in report.unsupported:
        print(f"simrun: not simulated: {call}", file=sys.stderr)
    differs = saved is not None and not report.interrupted and saved != printed
    try:
        if to_stdout or differs:
            out = sys.stdout.buffer
            out.write(shown if to_stdout else _diff(saved, check, printed))
            out.flush()
    except OSError as e:
        # What is still buffered would fail again as the interpreter exits, with a
        # traceback of its own: that flush goes to /dev/null instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(e, BrokenPipeError):
            return 141  # the reader has all it wanted, as `head` has: nothing to say
        print(f"simrun: cannot write the transcript to stdout: {e.strerror}", file=sys.stderr)
        return 1
    if report.problem:
        print(f"simrun: {report.problem.rstrip()}", file=sys.stderr)
    if report.hint:
        print(f"simrun: {report.hint}", file=sys.stderr)
    if report.cassette:
        print(f"simrun: {report.cassette}", file=sys.stderr)
    if differs:
        print(f"simrun: the transcript differs from {check} (the diff is on stdout)", file=sys.stderr)
    failures = _strict_failures(report) if strict else []
    if failures:
        print(f"simrun: --strict: failed: {', '.join(failures)}", file=sys.stderr)
    if report.interrupted:
        return 130
    if report.timed_out:
        return 124
    if report.deadlock or differs or failures or report.cassette:
        return 1
    # With --check the question is whether the transcript changed, not how the last
    # program ended (a client that shows an error exits non-zero on every run).
    return 0 if saved is not None else report.exit_status


def _parse_args(argv: list[str]) -> argparse.Namespace:
    """The options and the commands. Everything after the first "--" is a command,
    which parse_known_intermixed_args would take for unknown options."""
    rest: list[str] = []
    if "--" in argv:
        end = argv.index("--")
        argv, rest = argv[:end], argv[end + 1:]
    args, unknown = _parser().parse_known_intermixed_args(argv)
    if unknown:
        option = next((word for word in unknown if word.startswith("-")), unknown[0])
        raise UsageError(f"unknown option {option}; see simrun --help")
    args.commands += rest
    return args


def _check_distinct_files(args: argparse.Namespace) -> None:
    """-o, --check, --trace, --diagram and --pcap name different files: writing one would destroy
    the other (a saved transcript overwritten by the run checked against it)."""
    files = [(option, path) for option, path in (("-o", args.output), ("--check", args.check),
                                                  ("--trace", args.trace)) if path is not None]
    files += _outputs_cli.files(args)
    for i, (option, path) in enumerate(files):
        for other, other_path in files[i + 1:]:
            if _same_regular_file(path, other_path):
                raise UsageError(f"{option} {path} and {other} {other_path} are the same file; "
                                 "give each its own")


def _same_regular_file(a: str, b: str) -> bool:
    """Whether a and b are one file that writing replaces (not /dev/null)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return not os.path.exists(a) or os.path.isfile(a)
    try:
        return os.path.isfile(a) and os.path.samefile(a, b)
    except OSError:
        return False


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read --check {path}: {e.strerror}; save a transcript with -o first") from None


def _check_writable(option: str, path: str) -> None:
    try:
        open(path, "ab").close()
    except OSError as e:
        raise UsageError(f"cannot write {option} {path}: {e.strerror}") from None


if __name__ == "__main__":
    # As `python -m netsim.simrun` this file is __main__, a second copy of the module:
    # the option modules raise netsim.simrun's UsageError, which this copy's main()
    # would not catch. The console script's entry runs the one copy.
    from netsim._simrun_command import main as _command

    sys.exit(_command())
