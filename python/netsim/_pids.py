"""Process ids and signals for simulated tasks, as simrun's shim gives them to real
programs: ``os.getpid`` and ``os.getppid`` answer the task's simulated process (pids
from 1000; a process the simulation started has the run's init, 1, for parent), and
process groups and sessions are the core's.

A call that names a process by its pid reaches simulated processes only, so a task
never signals a real one: ``os.kill`` and ``os.killpg`` of a simulated process (or
thread, or group) take the signal's default action in the core (a task cannot install
a handler: Python runs handlers on the host's main thread only), and any other pid is
``ProcessLookupError`` (ESRCH), whatever real process has that number.
``signal.pthread_kill`` and ``signal.raise_signal`` name a thread of the caller's own
process. ``os.pidfd_open`` fails with ENOSYS, as under simrun. ``subprocess`` and
``multiprocessing`` start real children, which they signal by their real pids: theirs
stay real."""

from __future__ import annotations

import errno
import os
import signal

from netsim import _core
from netsim._dispatch import in_tasks
from netsim._os import for_a_child


def _kill(pid: int, sig: int) -> None:
    if for_a_child():
        return _real["kill"](pid, sig)
    _core.kill(pid, sig)


def _killpg(pgid: int, sig: int) -> None:
    if for_a_child():
        return _real["killpg"](pgid, sig)
    if pgid < 0:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    _core.kill(-pgid, sig)


def _pthread_kill(thread_id: int, sig: int) -> None:
    # A real thread's ident is an address, beyond any simulated thread id.
    if not 0 < thread_id < 2**31:
        raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
    _core.kill(thread_id, sig, _core.pid())


def _raise_signal(sig: int) -> None:
    _core.kill(_core.tid(), sig, _core.pid())


def _setsid() -> None:
    _core.setsid()


def _pidfd_open(pid: int, flags: int = 0) -> int:
    if for_a_child():
        return _real["pidfd_open"](pid, flags)
    raise OSError(errno.ENOSYS, "netsim: os.pidfd_open() in a simulated task: pidfds are not simulated")


_real = {name: getattr(os, name) for name in ("kill", "killpg", "pidfd_open") if hasattr(os, name)}


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = [
        (os, "getpid", _core.pid),
        (os, "getppid", _core.ppid),
        (os, "getpgid", _core.getpgid),
        (os, "getpgrp", lambda: _core.getpgid(0)),
        (os, "setpgid", _core.setpgid),
        (os, "getsid", _core.getsid),
        (os, "setsid", _setsid),
        (os, "kill", _kill),
        (os, "killpg", _killpg),
        (os, "pidfd_open", _pidfd_open),
        (signal, "pthread_kill", _pthread_kill),
        (signal, "raise_signal", _raise_signal),
    ]
    return [(module, name, in_tasks(getattr(module, name), fn)) for module, name, fn in simulated
            if hasattr(module, name)]
