"""The scheduling policies, as ``policy=`` and ``--policy`` name them (the core's
Policy: core/include/netsim/scheduler.hpp says what each does)."""

from __future__ import annotations

import re

#: run-until-block: a task runs until it blocks. random: a seeded choice at every
#: scheduling point. pct: seeded task priorities, changed at d-1 seeded points
#: ("pct:D" sets the depth d, default 3).
POLICIES = ("run-until-block", "random", "pct")
MAX_PCT_DEPTH = 999


def problem(policy: object) -> str | None:
    """What is wrong with a policy name, or None when it is one."""
    if isinstance(policy, str):
        if policy in POLICIES:
            return None
        depth = re.fullmatch(r"pct:(\d{1,3})", policy)
        if depth and int(depth.group(1)) >= 1:
            return None
    return (f"policy is 'run-until-block', 'random', 'pct' or 'pct:D' (D, PCT's depth, from 1 to "
            f"{MAX_PCT_DEPTH}), not {policy!r}")
