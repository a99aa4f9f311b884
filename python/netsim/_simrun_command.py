"""The ``simrun`` command (the console script runs :func:`main`).

Here, and not in netsim.simrun, because it must take SIGINT before anything heavy
is imported: netsim's extension module takes tens of milliseconds to load, and a
Ctrl-C meanwhile would end simrun with a KeyboardInterrupt traceback, or with an
ImportError from the half-loaded module. netsim.simrun stays importable from a
notebook without touching the notebook's signals."""

import os
import signal
import sys


def _interrupted(signum, frame) -> None:
    # No program has started: the run installs its own handler, which stops them.
    os.write(2, b"simrun: interrupted by SIGINT\n")
    os._exit(130)


def _pause_for_tests(point: str) -> None:
    """With NETSIM_TEST_PAUSE=POINT, says "paused at POINT" on stderr and waits for a
    signal there: the tests interrupt start-up at known points without sleeping."""
    if os.environ.get("NETSIM_TEST_PAUSE") == point:
        os.write(2, f"paused at {point}\n".encode())
        while True:
            signal.pause()


def main() -> int:
    signal.signal(signal.SIGINT, _interrupted)
    # A closed descriptor 0, 1 or 2 would be the next file simrun opens, and the
    # programs are given theirs on those numbers: hold them with /dev/null (stdout
    # stays None for netsim.simrun, which then asks for -o).
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)
    _pause_for_tests("start")
    from netsim import simrun

    _pause_for_tests("imported")
    return simrun.main()


if __name__ == "__main__":
    sys.exit(main())
