"""Ctrl-C during ``Simulation.run()``.

Python runs a signal handler on the main thread between two bytecodes, and during a
run the main thread waits in the core until the run is over: a real SIGINT would be
seen only after the last task ended, which for a task that never ends is never. So
while a run goes on, SIGINT is taken over: Python's wakeup fd (``signal.set_wakeup_fd``)
is a pipe that the core's watcher reads; at SIGINT it stops the run, every task is
unwound, and ``run()`` raises KeyboardInterrupt once the run is over.

Only where Ctrl-C would raise KeyboardInterrupt anyway: on the main thread, with
Python's default SIGINT handler. A program with a handler of its own keeps it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def sigint_watched() -> Iterator[int]:
    """Yields the descriptor for the core's watcher (-1: nothing to watch) and
    restores the handler and wakeup fd on the way out."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield -1
        return
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # a wakeup fd that Python refuses: run as before
        os.close(read_end)
        os.close(write_end)
        yield -1
        return
    # The watcher acts on the byte; Python's own handler must not raise
    # KeyboardInterrupt in the middle of the package's clean-up after the run.
    previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield read_end
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_end)
        os.close(read_end)
