"""The simulated machine for simulated tasks, as the shim gives it to real programs
(both answer from the core's system_facts): ``os.uname``, ``socket.gethostname``,
``os.cpu_count`` and ``os.sched_getaffinity`` report the task's simulated host, not
the real one."""

from __future__ import annotations

import os
import socket

from netsim import _core
from netsim._dispatch import in_tasks


def _uname() -> os.uname_result:
    facts = _core.system_facts()
    return os.uname_result((facts["sysname"], facts["nodename"], facts["release"],
                            facts["version"], facts["machine"]))


def _cpu_count() -> int:
    return _core.system_facts()["cpus"]


def _sched_getaffinity(pid) -> set[int]:
    return set(range(_core.system_facts()["cpus"]))


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = [(os, "uname", _uname), (os, "cpu_count", _cpu_count),
                 (os, "sched_getaffinity", _sched_getaffinity),
                 (socket, "gethostname", lambda: _core.system_facts()["nodename"])]
    return [(module, name, in_tasks(getattr(module, name), fn)) for module, name, fn in simulated]
