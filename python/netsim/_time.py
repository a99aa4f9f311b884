"""Virtual time for simulated tasks: ``time.time``, ``monotonic``, ``perf_counter``
(and their ``_ns`` forms) read the simulation's clock, and ``time.sleep`` blocks the
task in virtual time, so a ``sleep(5)`` costs no wall time and logged timestamps
repeat on every run.

Local time in a task is UTC (``localtime``, ``ctime``, ``asctime``, ``strftime``,
``mktime`` and logging's timestamps): the host's time zone must not show in the
output."""

from __future__ import annotations

import calendar
import logging
import time as _time_module

from netsim import _core
from netsim._dispatch import in_tasks

_real = {name: getattr(_time_module, name) for name in (
    "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "sleep",
    "localtime", "ctime", "asctime", "strftime", "mktime")}


def _sleep(seconds) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _core.sleep(round(seconds * 1e9))


def _utc(seconds=None) -> _time_module.struct_time:
    return _time_module.gmtime(_core.time_ns() / 1e9 if seconds is None else seconds)


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    virtual = {
        "time": lambda: _core.time_ns() / 1e9,
        "time_ns": _core.time_ns,
        "monotonic": lambda: _core.monotonic_ns() / 1e9,
        "monotonic_ns": _core.monotonic_ns,
        "perf_counter": lambda: _core.monotonic_ns() / 1e9,
        "perf_counter_ns": _core.monotonic_ns,
        "sleep": _sleep,
        "localtime": _utc,
        "ctime": lambda seconds=None: _real["asctime"](_utc(seconds)),
        "asctime": lambda t=None: _real["asctime"](_utc() if t is None else t),
        "strftime": lambda format, t=None: _real["strftime"](format, _utc() if t is None else t),
        "mktime": lambda t: float(calendar.timegm(t)),
    }
    replacements = {name: in_tasks(_real[name], fn) for name, fn in virtual.items()}
    # logging.Formatter bound time.localtime when logging was imported.
    return [(_time_module, name, fn) for name, fn in replacements.items()] + [
        (logging.Formatter, "converter", staticmethod(replacements["localtime"]))]
