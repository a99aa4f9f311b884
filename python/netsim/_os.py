"""Pipes for simulated tasks: ``os.pipe`` and ``os.pipe2`` made in a task are the
kernel's pipes (one-way stream pairs), so that a self-pipe waker (Twisted's
reactor, a signal-safe wake-up) can be waited on with the simulated ``select``,
``poll`` and ``epoll`` like any simulated socket.

``os.read``, ``os.write``, ``os.close``, ``os.get_blocking``, ``os.set_blocking``
and ``fcntl.fcntl`` (``F_GETFL``, ``F_SETFL``, ``F_GETFD``, ``F_SETFD``) reach the
kernel for the descriptors a process's ``os.pipe`` made, and the real calls for
every other descriptor (a file the task opened). ``subprocess`` and
``multiprocessing`` start real processes, which need real pipes: theirs stay real."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import weakref

from netsim import _core, _threading
from netsim._dispatch import in_tasks

_real = {name: getattr(os, name) for name in ("pipe", "pipe2", "read", "write", "close",
                                               "get_blocking", "set_blocking")}
_real_fcntl = fcntl.fcntl


# Each simulated process's pipe ends: {fd: [access mode, descriptor flags]}.
_pipe_ends: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ends() -> dict[int, list[int]]:
    return _pipe_ends.setdefault(_threading.current_process(), {})


def _simulated_pipe(flags: int) -> tuple[int, int]:
    read_end, write_end = _core.pipe(flags & os.O_NONBLOCK)
    fd_flags = fcntl.FD_CLOEXEC if flags & os.O_CLOEXEC else 0
    _ends().update({read_end: [os.O_RDONLY, fd_flags], write_end: [os.O_WRONLY, fd_flags]})
    return read_end, write_end


# Modules whose pipes go to real child processes (subprocess's stdin and stdout,
# multiprocessing's), which need real descriptors: they get real pipes (and signal
# their children by real pids: netsim._pids).
_REAL_PIPE_USERS = frozenset({"subprocess", "multiprocessing", "pty"})


def for_a_child() -> bool:
    """Whether the caller's caller is one of _REAL_PIPE_USERS, working for a real child."""
    frame = sys._getframe(1)
    while frame.f_globals.get("__name__", "").startswith("netsim."):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "").partition(".")[0] in _REAL_PIPE_USERS


def _pipe2(flags: int) -> tuple[int, int]:
    if for_a_child():
        return _real["pipe2"](flags)
    return _simulated_pipe(flags)


def _pipe() -> tuple[int, int]:
    if for_a_child():
        return _real["pipe"]()
    # Python makes its descriptors non-inheritable (PEP 446).
    return _simulated_pipe(os.O_CLOEXEC)


def _end(fd: int, mode: int | None = None) -> list[int] | None:
    """fd's entry if it is a pipe end of this process; EBADF for the wrong end, as
    Linux answers a read of a pipe's write end."""
    entry = _ends().get(fd)
    if entry is not None and mode is not None and entry[0] != mode:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    return entry


def _read(fd: int, n: int) -> bytes:
    if _end(fd, os.O_RDONLY) is None:
        return _real["read"](fd, n)
    return _core.recv(fd, n, 0)


def _write(fd: int, data) -> int:
    if _end(fd, os.O_WRONLY) is None:
        return _real["write"](fd, data)
    return _core.send(fd, data, 0)


def _close(fd: int) -> None:
    if _ends().pop(fd, None) is None:
        _real["close"](fd)
    else:
        _core.close(fd)


def _get_blocking(fd: int) -> bool:
    if _end(fd) is None:
        return _real["get_blocking"](fd)
    return not _core.get_nonblocking(fd)


def _set_blocking(fd: int, blocking: bool) -> None:
    if _end(fd) is None:
        _real["set_blocking"](fd, blocking)
    else:
        _core.set_nonblocking(fd, not blocking)


def _fcntl(fd, cmd: int, arg=0):
    number = fd if isinstance(fd, int) else fd.fileno()
    entry = _end(number)
    if entry is None:
        return _real_fcntl(fd, cmd, arg)
    if cmd == fcntl.F_GETFL:
        return entry[0] | (os.O_NONBLOCK if _core.get_nonblocking(number) else 0)
    if cmd == fcntl.F_SETFL:
        _core.set_nonblocking(number, bool(arg & os.O_NONBLOCK))
        return 0
    if cmd == fcntl.F_GETFD:
        return entry[1]
    if cmd == fcntl.F_SETFD:
        entry[1] = arg & fcntl.FD_CLOEXEC
        return 0
    raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = {"pipe": _pipe, "pipe2": _pipe2, "read": _read, "write": _write, "close": _close,
                 "get_blocking": _get_blocking, "set_blocking": _set_blocking}
    return [(os, name, in_tasks(_real[name], fn)) for name, fn in simulated.items()] + [
        (fcntl, "fcntl", in_tasks(_real_fcntl, _fcntl))]
