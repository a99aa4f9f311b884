"""What makes a run print the same bytes on any machine, shared by simrun and the
in-process Simulation: the short forms of the machine's paths, the virtual start
date (``--epoch``, ``epoch=``), the hint for a TLS certificate outside that date,
and the hash seed an in-process run needs."""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import warnings

from netsim import _core

#: The virtual wall clock at the start unless told otherwise: 2024-01-01T00:00:00Z,
#: fixed so that logged dates repeat on every run, whatever the day.
DEFAULT_EPOCH = 1_704_067_200

# OpenSSL's text for X509_V_ERR_CERT_NOT_YET_VALID and X509_V_ERR_CERT_HAS_EXPIRED,
# which every program built on it prints (Python's ssl, curl, openssl s_client).
_CERTIFICATE_DATE = re.compile(rb"certificate (is not yet valid|has expired)")


_warned = False  # once per interpreter: the hash seed cannot change until it restarts


class HashSeedWarning(UserWarning):
    """An in-process simulation runs under a PYTHONHASHSEED other than its seed's:
    set iteration order (of str and bytes) may differ from simrun's, and between runs."""


def short_paths() -> list[tuple[str, str]]:
    """(directory, shown) pairs for the transcript: the working directory (paths
    under it shown relative to it), the Python installation's standard library
    ("<stdlib>"), every site-packages on sys.path ("<site-packages>"), the
    installation itself ("<python>") and HOME ("~")."""
    forms = [(os.getcwd(), "")]
    for key in ("stdlib", "platstdlib"):
        forms.append((sysconfig.get_path(key), "<stdlib>"))
    forms += [(entry, "<site-packages>") for entry in _site_packages()]
    forms += [(prefix, "<python>") for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    if os.environ.get("HOME"):
        forms.append((os.environ["HOME"], "~"))
    return [(os.path.normpath(directory), shown) for directory, shown in forms if directory]


def _site_packages() -> list[str]:
    """The site-packages directories of this Python installation: those on sys.path
    and those `site` would add (each prefix's, the user's) or PYTHONPATH names.
    Found without `site` having run: simrun's launcher starts simrun's own Python with
    -S (see netsim/_launch.py), and its transcripts must show the programs' paths as
    `python -m netsim.simrun` does."""
    import site

    prefixes = sorted({sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix})
    named = [*sys.path, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    found = [entry for entry in named if os.path.basename(entry) in ("site-packages", "dist-packages")]
    found += [entry for entry in [*site.getsitepackages(prefixes), site.getusersitepackages()]
              if os.path.isdir(entry)]
    return list(dict.fromkeys(found))


def parse_epoch(value: object, what: str) -> int:
    """Seconds since 1970 of an ISO 8601 date ("2026-12-03", midnight UTC), date and
    time ("2026-12-03T09:30:00", UTC unless it gives an offset), a datetime or date,
    or a number of seconds (a string or a number). Raises ValueError or TypeError
    naming `what`."""
    import datetime  # here: every simrun imports this module, few give a date

    if isinstance(value, bool):
        raise TypeError(f"{what} is a date or seconds since 1970, not {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return _in_range(float(text), what, value)
        except ValueError:
            pass
        try:
            value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text or " " in text \
                else datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{what} takes an ISO 8601 date (2026-12-03), date and time "
                             f"(2026-12-03T09:30:00Z) or seconds since 1970, not {text!r}") from None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return _in_range(value.timestamp(), what, value)
    if isinstance(value, datetime.date):
        return _in_range(datetime.datetime(value.year, value.month, value.day,
                                           tzinfo=datetime.timezone.utc).timestamp(), what, value)
    if isinstance(value, (int, float)):
        return _in_range(value, what, value)
    raise TypeError(f"{what} is a date (ISO 8601 text, a datetime or date) or seconds since 1970, "
                    f"not {type(value).__name__}")


def _in_range(seconds: float, what: str, shown: object) -> int:
    # The core's clock counts nanoseconds in 64 bits: about 292 years either way.
    if not -9e9 < seconds < 9e9:
        raise ValueError(f"{what} must be within 9e9 seconds of 1970, not {shown!r}")
    return round(seconds * 1e9)


def shown_date(epoch_ns: int) -> str:
    """2024-01-01T00:00:00Z"""
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch_ns / 1e9, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_hint(transcript: bytes, epoch_ns: int, how: str) -> str:
    """The explanation when a program refused a TLS certificate for its dates, ""
    otherwise: what the virtual date was, and how to change it (`how`: the option
    set to now, '--epoch "$(date -u +%FT%TZ)"')."""
    found = _CERTIFICATE_DATE.search(transcript)
    if not found:
        return ""
    return (f"a TLS certificate was refused because it {found.group(1).decode()} at the virtual date, "
            f"{shown_date(epoch_ns)}, where the run's clock started: start the clock inside the "
            f"certificate's validity, e.g. now for one made today: {how}")


def check_hash_seed(seed: int) -> None:
    """Warns when this interpreter's str hashing is not the one simrun gives a
    program for this seed: in-process tasks share the interpreter's, fixed at its
    start."""
    global _warned
    wanted = str(_core.python_hash_seed(seed))
    if os.environ.get("PYTHONHASHSEED") != wanted and not _warned:
        _warned = True
        # Located in netsim, not in the caller: a notebook cell's file is named by its
        # kernel's pid, and the warning must not make two runs of a notebook differ.
        warnings.warn_explicit(
            f"this Python's PYTHONHASHSEED is {os.environ.get('PYTHONHASHSEED', 'unset')!s}, and a "
            f"simulation of seed {seed} needs {wanted} (as simrun gives its programs): the order of sets "
            f"of strings may change between runs; start Python with PYTHONHASHSEED={wanted}",
            HashSeedWarning, filename="netsim", lineno=0, module="netsim")
