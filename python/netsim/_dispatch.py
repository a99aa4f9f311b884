"""The shape of every standard-library replacement: simulated on a simulated task's
thread, the original everywhere else in the process."""

from __future__ import annotations

import functools
from typing import Callable

from netsim import _core


class _BuiltinLike:
    """A replacement for a C function (``time.time``, ``os.read``). Like one, and
    unlike a Python function, it is no descriptor: a class that keeps it as an
    attribute (``now = time.time``) calls it without ``self``."""

    def __init__(self, real: Callable, call: Callable) -> None:
        functools.update_wrapper(self, real)
        self._call = call

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


def in_tasks(real: Callable, simulated: Callable) -> Callable:
    """A stand-in for `real` that calls `simulated` when the calling thread runs a
    simulated task, and `real` (with the same arguments) anywhere else."""

    @functools.wraps(real)
    def replacement(*args, **kwargs):
        return simulated(*args, **kwargs) if _core.in_task() else real(*args, **kwargs)

    # Bound when a class keeps it exactly where the original would be.
    return replacement if hasattr(real, "__get__") else _BuiltinLike(real, replacement)
