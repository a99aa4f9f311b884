"""The units a scenario writes its values in, as tc netem and Toxiproxy users write
them: durations ``50ms``, ``1.5s``, ``2m``; sizes ``64KiB``, ``1MB``; rates
``1Mbit/s``, ``10MB/s``; percentages ``5%``; clock drift ``100ppm``. Each parser
returns the value in the core's unit (nanoseconds, bytes, bits per second, a
fraction) or raises ValueError with what to write instead."""

from __future__ import annotations

import re
from decimal import Decimal

_NUMBER = r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"

DURATION_UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
SIZE_UNITS = {"B": 1, "KB": 10**3, "kB": 10**3, "MB": 10**6, "GB": 10**9,
              "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
RATE_UNITS = {"bit/s": 1, "kbit/s": 10**3, "Mbit/s": 10**6, "Gbit/s": 10**9,
              **{f"{unit}/s": 8 * factor for unit, factor in SIZE_UNITS.items()}}

# The core counts nanoseconds in 64 bits: about 292 years.
_MAX_NANOS = 2**63 - 1


def _split(text: object, units: dict[str, int], what: str, example: str) -> tuple[Decimal, int]:
    if not isinstance(text, str):
        raise ValueError(f"a {what} is a string with a unit, as {example}, not {text!r}")
    match = re.fullmatch(_NUMBER + r"\s*([A-Za-z/%]+)", text.strip())
    if match is None or match[2] not in units:
        raise ValueError(f"bad {what} {text!r}: write a number and a unit ({', '.join(units)}), "
                         f"as {example}")
    return Decimal(match[1]), units[match[2]]


def duration(text: object, signed: bool = False) -> int:
    """Nanoseconds of ``"50ms"``; negative only when ``signed`` (a clock behind)."""
    number, factor = _split(text, DURATION_UNITS, "duration", "50ms, 1.5s or 2m")
    nanos = int(number * factor)
    if nanos < 0 and not signed:
        raise ValueError(f"bad duration {text!r}: it cannot be negative")
    if abs(nanos) > _MAX_NANOS:
        raise ValueError(f"bad duration {text!r}: longer than the simulation's clock holds (292 years)")
    return nanos


def size(value: object) -> int:
    """Bytes of ``"64KiB"``; an integer is a count of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        number, factor = Decimal(value), 1
    else:
        number, factor = _split(value, SIZE_UNITS, "size", "1500B, 64KiB or 1MB")
    total = number * factor
    if total < 0 or total != int(total):
        raise ValueError(f"bad size {value!r}: a whole, non-negative number of bytes")
    return int(total)


def rate(text: object) -> int:
    """Bits per second of ``"1Mbit/s"`` or ``"10MB/s"``."""
    number, factor = _split(text, RATE_UNITS, "rate", "100kbit/s, 1Mbit/s or 10MB/s")
    bits = int(number * factor)
    if bits <= 0:
        raise ValueError(f"bad rate {text!r}: it must be above 0 (leave it out for no limit)")
    return bits


def percent(text: object) -> float:
    """The fraction of ``"5%"``, from 0 to 1."""
    number, _ = _split(text, {"%": 1}, "percentage", "5% or 0.5%")
    if not 0 <= number <= 100:
        raise ValueError(f"bad percentage {text!r}: from 0% to 100%")
    return float(number / 100)


def ppm(text: object) -> float:
    """The fraction of ``"100ppm"`` (parts per million, signed)."""
    number, _ = _split(text, {"ppm": 1}, "drift", "100ppm or -50ppm")
    if abs(number) >= 10**6:
        raise ValueError(f"bad drift {text!r}: below 1000000ppm either way")
    return float(number / 10**6)
