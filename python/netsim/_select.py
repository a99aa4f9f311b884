"""Readiness for simulated tasks: ``select.select``, ``select.poll``, ``select.epoll``
and the ``selectors`` classes wait through the kernel's poll, in virtual time.

``selectors`` binds ``select.poll``/``select.epoll`` into its classes when it is
imported (``PollSelector._selector_cls``), and ``socketserver`` binds
``selectors.PollSelector`` in turn, so the factories are patched where they are
looked up, not only in the ``select`` module."""

from __future__ import annotations

import errno
import math
import os
import select as _select_module
import selectors as _selectors_module

from netsim import _core
from netsim._dispatch import in_tasks

_real_select = _select_module.select
_real_poll = _select_module.poll
_real_epoll = _select_module.epoll

_POLLIN, _POLLPRI, _POLLOUT = _select_module.POLLIN, _select_module.POLLPRI, _select_module.POLLOUT
_POLLERR, _POLLHUP, _POLLNVAL = _select_module.POLLERR, _select_module.POLLHUP, _select_module.POLLNVAL


def _fd(obj) -> int:
    fd = obj if isinstance(obj, int) else obj.fileno()
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def _ns(seconds) -> int | None:
    if seconds is None:
        return None
    return max(0, math.ceil(seconds * 1e9))


def _select(rlist, wlist, xlist, timeout=None):
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    wanted: dict[int, int] = {}
    for objects, events in ((rlist, _POLLIN), (wlist, _POLLOUT), (xlist, _POLLPRI)):
        for obj in objects:
            fd = _fd(obj)
            wanted[fd] = wanted.get(fd, 0) | events
    ready = dict(_core.poll(sorted(wanted.items()), _ns(timeout)))
    if any(revents & _POLLNVAL for revents in ready.values()):
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def pick(objects, events):
        return [obj for obj in objects if ready.get(_fd(obj), 0) & (events | _POLLERR | _POLLHUP)]

    # select() reports errors and hang-ups as readable and writable, as Linux does.
    return pick(rlist, _POLLIN), pick(wlist, _POLLOUT), [o for o in xlist if ready.get(_fd(o), 0) & _POLLPRI]


class _SimPoll:
    """select.poll() for simulated descriptors; also serves as epoll (level-triggered:
    the epoll event bits for IN/OUT/PRI/ERR/HUP/RDHUP equal poll's)."""

    def __init__(self, epoll: bool = False):
        self._registered: dict[int, int] = {}
        self._epoll = epoll
        self._placeholder = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if epoll else -1
        self.closed = False

    def register(self, fd, eventmask=_POLLIN | _POLLPRI | _POLLOUT) -> None:
        fd = _fd(fd)
        if self._epoll and fd in self._registered:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))
        self._registered[fd] = eventmask

    def modify(self, fd, eventmask) -> None:
        fd = _fd(fd)
        if fd not in self._registered:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        self._registered[fd] = eventmask

    def unregister(self, fd) -> None:
        fd = _fd(fd)
        if fd not in self._registered:
            if self._epoll:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            raise KeyError(fd)
        del self._registered[fd]

    def poll(self, timeout=None, maxevents=-1):
        if self._epoll:  # seconds, -1 or None for ever
            ns = None if timeout is None or timeout < 0 else _ns(timeout)
        else:  # milliseconds, negative or None for ever
            ns = None if timeout is None or timeout < 0 else _ns(timeout / 1000)
        ready = _core.poll(sorted(self._registered.items()), ns)
        return ready[:maxevents] if maxevents and maxevents > 0 else ready

    def fileno(self) -> int:
        return self._placeholder

    def close(self) -> None:
        if not self.closed and self._placeholder >= 0:
            os.close(self._placeholder)
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _epoll(sizehint=-1, flags=0):
    return _SimPoll(epoll=True)


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    select = in_tasks(_real_select, _select)
    poll = in_tasks(_real_poll, _SimPoll)
    epoll = in_tasks(_real_epoll, _epoll)
    return [
        (_select_module, "select", select),
        (_select_module, "poll", poll),
        (_select_module, "epoll", epoll),
        (_selectors_module.SelectSelector, "_select", staticmethod(select)),
        (_selectors_module.PollSelector, "_selector_cls", staticmethod(poll)),
        (_selectors_module.EpollSelector, "_selector_cls", staticmethod(epoll)),
    ]
