"""The simulated machine for simulated tasks, as the shim gives it to real programs
(both answer from the core's system_facts): ``os.uname``, ``platform.uname`` (and so
``platform.node``...), ``socket.gethostname``,
``os.cpu_count`` and ``os.sched_getaffinity`` report the task's simulated host, not
the real one."""

from __future__ import annotations

import os
import platform
import socket

from netsim import _core
from netsim._dispatch import in_tasks


def _uname() -> os.uname_result:
    facts = _core.system_facts()
    return os.uname_result((facts["sysname"], facts["nodename"], facts["release"],
                            facts["version"], facts["machine"]))


def _platform_uname() -> platform.uname_result:
    # platform caches the real machine's at its first call, wherever it was made.
    return platform.uname_result(*_uname())


def _cpu_count() -> int:
    return _core.system_facts()["cpus"]


def _sched_getaffinity(pid) -> set[int]:
    return set(range(_core.system_facts()["cpus"]))


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = [(os, "uname", _uname), (platform, "uname", _platform_uname), (os, "cpu_count", _cpu_count),
                 (os, "sched_getaffinity", _sched_getaffinity),
                 (socket, "gethostname", lambda: _core.system_facts()["nodename"])]
    return [(module, name, in_tasks(getattr(module, name), fn)) for module, name, fn in simulated]
