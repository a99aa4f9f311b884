"""``signal.alarm``, ``setitimer`` and ``getitimer`` in a simulated task.

In-process they are not simulated: a real timer would fire in wall-clock time, and
Python runs every handler on the host's main thread, not in the task. Asking for a
timer raises OSError(ENOSYS) that says so and points to simrun, where alarm,
setitimer and timerfd run in virtual time. What asks for no timer (disarming with
0, as Redis-style code does, and reading) answers as Linux does for a process with
no timer armed, so harmless code runs unchanged."""

from __future__ import annotations

import errno
import signal

from netsim._dispatch import in_tasks

_MESSAGE = ("netsim: signal.{}() in a simulated task: timers are not simulated in-process "
            "(run the program with simrun, where alarm, setitimer and timerfd run in virtual time)")


def _refused(name: str) -> OSError:
    return OSError(errno.ENOSYS, _MESSAGE.format(name))


def _alarm(seconds: int) -> int:
    if seconds:
        raise _refused("alarm")
    return 0


def _setitimer(which: int, seconds: float, interval: float = 0.0) -> tuple[float, float]:
    if which != signal.ITIMER_REAL or seconds:
        raise _refused("setitimer")
    return (0.0, 0.0)


def _getitimer(which: int) -> tuple[float, float]:
    if which != signal.ITIMER_REAL:
        raise _refused("getitimer")
    return (0.0, 0.0)


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = {"alarm": _alarm, "setitimer": _setitimer, "getitimer": _getitimer}
    return [(signal, name, in_tasks(getattr(signal, name), fn)) for name, fn in simulated.items()]
