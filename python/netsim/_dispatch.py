"""The shape of every standard-library replacement: simulated on a simulated task's
thread, the original everywhere else in the process."""

from __future__ import annotations

import functools
from typing import Callable

from netsim import _core


def in_tasks(real: Callable, simulated: Callable) -> Callable:
    """A stand-in for `real` that calls `simulated` when the calling thread runs a
    simulated task, and `real` (with the same arguments) anywhere else."""

    @functools.wraps(real)
    def replacement(*args, **kwargs):
        return simulated(*args, **kwargs) if _core.in_task() else real(*args, **kwargs)

    return replacement
