"""The scheduling policies, as ``policy=`` and ``--policy`` name them (the core's
Policy: core/include/netsim/scheduler.hpp says what each does)."""

from __future__ import annotations

import re

#: run-until-block: a task runs until it blocks. random: a seeded choice at every
#: scheduling point. pct: seeded task priorities, changed at d-1 seeded points
#: ("pct:D" sets the depth d, default 3). "schedule:P:T,...": run-until-block but
#: at scheduling point P task T runs (a shrunk schedule, see netsim.exploration).
POLICIES = ("run-until-block", "random", "pct")
MAX_PCT_DEPTH = 999
SCHEDULE = re.compile(r"schedule:(?:\d{1,18}:\d{1,9}(?:,\d{1,18}:\d{1,9})*)?")


def problem(policy: object) -> str | None:
    """What is wrong with a policy name, or None when it is one."""
    if isinstance(policy, str):
        if policy in POLICIES:
            return None
        depth = re.fullmatch(r"pct:(\d{1,3})", policy)
        if depth and int(depth.group(1)) >= 1:
            return None
        if SCHEDULE.fullmatch(policy):
            return None
    return (f"policy is 'run-until-block', 'random', 'pct' or 'pct:D' (D, PCT's depth, from 1 to "
            f"{MAX_PCT_DEPTH}), or 'schedule:P:T,...' (at scheduling point P, task T runs), not {policy!r}")
