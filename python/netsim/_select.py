"""Readiness for simulated tasks: ``select.select``, ``select.poll`` and the
``selectors`` classes wait through the kernel's poll, ``select.epoll`` is the kernel's
epoll; all in virtual time.

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
    """select.poll() for simulated descriptors."""

    def __init__(self):
        self._registered: dict[int, int] = {}

    def register(self, fd, eventmask=_POLLIN | _POLLPRI | _POLLOUT) -> None:
        self._registered[_fd(fd)] = eventmask

    def modify(self, fd, eventmask) -> None:
        fd = _fd(fd)
        if fd not in self._registered:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        self._registered[fd] = eventmask

    def unregister(self, fd) -> None:
        del self._registered[_fd(fd)]

    def poll(self, timeout=None):
        # Milliseconds, negative or None for ever.
        ns = None if timeout is None or timeout < 0 else _ns(timeout / 1000)
        return _core.poll(sorted(self._registered.items()), ns)


# CPython's default maxevents (FD_SETSIZE - 1) and event mask.
_EPOLL_MAXEVENTS = 1023
_EPOLL_DEFAULT = _select_module.EPOLLIN | _select_module.EPOLLPRI | _select_module.EPOLLOUT
# sys/epoll.h's operations, which the select module does not export.
_EPOLL_CTL_ADD, _EPOLL_CTL_DEL, _EPOLL_CTL_MOD = 1, 2, 3


class _SimEpoll:
    """select.epoll() as the kernel's epoll instance (core/src/epoll.cpp): a simulated
    descriptor, with level-triggered, EPOLLET and EPOLLONESHOT modes; the event's data
    is the registered descriptor, as CPython's."""

    def __init__(self, sizehint=-1, flags=0):
        if sizehint == 0 or sizehint < -1:
            raise ValueError("negative sizehint")
        if flags not in (0, _select_module.EPOLL_CLOEXEC):  # CPython's own check
            raise OSError(errno.EINVAL, "invalid flags")
        self._epfd = _core.epoll_create(0)

    @property
    def closed(self) -> bool:
        return self._epfd < 0

    def _live(self) -> int:
        if self._epfd < 0:
            raise ValueError("I/O operation on closed epoll object")
        return self._epfd

    def register(self, fd, eventmask=_EPOLL_DEFAULT) -> None:
        fd = _fd(fd)
        _core.epoll_ctl(self._live(), _EPOLL_CTL_ADD, fd, eventmask, fd)

    def modify(self, fd, eventmask) -> None:
        fd = _fd(fd)
        _core.epoll_ctl(self._live(), _EPOLL_CTL_MOD, fd, eventmask, fd)

    def unregister(self, fd) -> None:
        _core.epoll_ctl(self._live(), _EPOLL_CTL_DEL, _fd(fd), 0, 0)

    def poll(self, timeout=None, maxevents=-1):
        epfd = self._live()
        if maxevents == -1:
            maxevents = _EPOLL_MAXEVENTS
        elif maxevents < 1:
            raise ValueError(f"maxevents must be greater than 0, got {maxevents}")
        # Seconds, None or negative for ever; rounded up to milliseconds as CPython does.
        ns = None if timeout is None or timeout < 0 else math.ceil(timeout * 1000) * 1_000_000
        return _core.epoll_wait(epfd, maxevents, ns)

    def fileno(self) -> int:
        return self._live()

    def close(self) -> None:
        if self._epfd >= 0:
            epfd, self._epfd = self._epfd, -1
            _core.close(epfd)

    def __enter__(self):
        self._live()
        return self

    def __exit__(self, *exc):
        self.close()


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    select = in_tasks(_real_select, _select)
    poll = in_tasks(_real_poll, _SimPoll)
    epoll = in_tasks(_real_epoll, _SimEpoll)
    return [
        (_select_module, "select", select),
        (_select_module, "poll", poll),
        (_select_module, "epoll", epoll),
        (_selectors_module.SelectSelector, "_select", staticmethod(select)),
        (_selectors_module.PollSelector, "_selector_cls", staticmethod(poll)),
        (_selectors_module.EpollSelector, "_selector_cls", staticmethod(epoll)),
    ]
