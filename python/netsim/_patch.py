"""Installs netsim's replacements into the standard library while simulations run.

Every replacement checks whether the calling thread runs a simulated task and
otherwise defers to the original, so code outside the simulation in the same
process (a Jupyter kernel's own sockets, a test's real server) keeps the real
network and the real clock. The patches are in place only while at least one
simulation runs, and are removed afterwards.
"""

from __future__ import annotations

import threading

from netsim import _exit, _os, _pids, _select, _signal_timers, _socket, _ssl, _stdio, _system, _threading, _time

_MISSING = object()
_lock = threading.Lock()
_active = 0
_saved: list[tuple[object, str, object]] = []


def _all_patches():
    for module in (_socket, _select, _time, _stdio, _ssl, _system, _threading, _exit, _signal_timers, _os, _pids):
        yield from module.patches()


def install() -> None:
    global _active
    with _lock:
        _active += 1
        if _active > 1:
            return
        for target, name, replacement in _all_patches():
            # A class attribute that is inherited (socket.socket.__new__) is restored
            # by deleting the override, not by copying the inherited one in.
            original = vars(target).get(name, _MISSING) if isinstance(target, type) else getattr(target, name)
            _saved.append((target, name, original))
            setattr(target, name, replacement)


def uninstall() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active > 0:
            return
        while _saved:
            target, name, original = _saved.pop()
            if original is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, original)
