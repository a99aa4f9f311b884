"""Python threads inside simulated tasks.

A ``threading.Thread`` started in a task becomes another task of the same simulated
process, run by the simulation's scheduler like every other task. Locks made in a
task wait through the kernel's futexes instead of blocking their OS thread, which
would stop the whole simulation (only one task runs at a time). ``RLock``,
``Condition``, ``Semaphore``, ``Event``, ``Barrier``, ``queue`` and
``concurrent.futures`` are built on those locks in pure Python and follow; their
timeouts run in virtual time. Thread names ("Thread-1 (worker)") start afresh in
every process of every run; idents and native ids are the core's thread ids (the main
thread's is the process's pid), as simrun's gettid answers them. When a process's main task returns,
the process waits for its non-daemon threads, as Python does before it exits.

Objects stay what they were made as. A lock made outside any task is a real lock: a
task that blocks on one blocks the simulation until a real thread releases it. A
lock made in a task and used outside waits like a real lock, but only a task's
release wakes tasks. Conditions, events and queues made outside still work between
tasks: their waiters are made at each wait.
"""

from __future__ import annotations

import _thread
import functools
import itertools
import queue
import sys
import threading
import time
import traceback
from concurrent.futures import thread as _futures_thread
from typing import Callable

from netsim import _core
from netsim._traceback import format_exception

# Python 3.13 joins a thread through its handle (_thread._ThreadHandle), made done
# when the thread ends; 3.11 and 3.12 wait for a sentinel lock (_set_sentinel).
_HANDLES = hasattr(_thread, "start_joinable_thread")
_real = {name: getattr(_thread, name) for name in (
    "start_new_thread", "allocate_lock", "RLock", "get_ident", "get_native_id", "_set_sentinel",
    "start_joinable_thread", "_make_thread_handle", "_ThreadHandle") if hasattr(_thread, name)}
_real_current_thread = threading.current_thread
_real_main_thread = threading.main_thread
_real_enumerate = threading.enumerate
_real_active_count = threading.active_count
_real_excepthook = threading.excepthook
_real_counter = threading._counter
_real_executor_counter = _futures_thread.ThreadPoolExecutor._counter
_real_simple_queue = queue.SimpleQueue

# Futex keys: any value unique among live locks will do, and a counter never
# depends on addresses.
_keys = itertools.count(1)
# Each task runs on an OS thread of its own, so an OS-thread local is a task local.
_tls = _thread._local()


class _Process:
    """A simulated process's threading state, which CPython keeps per interpreter."""

    def __init__(self, on_error: Callable[[BaseException], None] | None) -> None:
        self.on_error = on_error  # told of exceptions that end a thread
        self.main: threading.Thread | None = None
        self.names = itertools.count(1).__next__  # threading's "Thread-%d"
        self.executors = itertools.count().__next__  # "ThreadPoolExecutor-%d"
        self.threads: list[threading.Thread] = []  # started and not ended
        self.shutdown_locks: list[_Lock] = []  # non-daemon threads' ends, awaited at exit


class _TaskState:
    """What threading knows about the task running on this OS thread."""

    def __init__(self, process: _Process, ident: int, thread: threading.Thread | None) -> None:
        self.process = process
        self.ident = ident
        self.thread = thread
        self.sentinels: list[_Lock] = []  # released when the task ends (Thread.join)
        self.what: str | None = None  # the wait under way, for the deadlock report


def _state() -> _TaskState | None:
    return getattr(_tls, "state", None)


class _Lock:
    """``_thread.lock`` for simulated tasks. The real lock inside holds the state
    (atomic for real threads too); a task that finds it taken waits on the lock's
    futex, and a task's release wakes one waiter. The woken task takes the lock
    only if it is still free, as a real lock lets a running thread barge in."""

    __slots__ = ("_real", "_key", "_waiters", "__weakref__")
    # A program printing its lock or its type must see what it would on CPython.
    __module__ = "_thread"
    __qualname__ = "lock"

    def __init__(self) -> None:
        self._real = _real["allocate_lock"]()
        self._key = next(_keys)
        # Tasks inside acquire(): never fewer than wait in the kernel, so a release
        # that sees none can skip the kernel call.
        self._waiters = 0

    def acquire(self, blocking=True, timeout=-1):
        if timeout != -1:
            # CPython's own argument checks and messages, on a lock nobody holds.
            _real["allocate_lock"]().acquire(blocking, timeout)
        if self._real.acquire(False):
            return True
        if not blocking:
            return False
        if not _core.in_task():
            return self._real.acquire(True, timeout)
        return self._wait(timeout)

    def _wait(self, timeout) -> bool:
        state = _state()
        what = state.what or "Lock.acquire"
        deadline = None if timeout < 0 else _core.monotonic_ns() + round(timeout * 1e9)
        self._waiters += 1
        try:
            while True:
                left = None if deadline is None else deadline - _core.monotonic_ns()
                if left is not None and left <= 0:
                    return False
                _core.futex_wait(self._key, left, what)
                if self._real.acquire(False):
                    return True
        finally:
            self._waiters -= 1

    def release(self) -> None:
        self._real.release()
        self._wake()

    def _wake(self) -> None:
        if self._waiters and _core.in_task():
            _core.futex_wake(self._key, 1)

    def locked(self) -> bool:
        return self._real.locked()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    # The old names, which _thread.lock still has.
    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def __repr__(self) -> str:
        kind = type(self)
        return (f"<{'locked' if self.locked() else 'unlocked'} {kind.__module__}.{kind.__qualname__} "
                f"object at {id(self):#x}>")


_Lock.__name__ = "lock"  # the class body can set only the qualified name


def _allocate_lock():
    return _Lock() if _core.in_task() else _real["allocate_lock"]()


_real_lock_type = _thread.LockType


class _LockFactory(type):
    """The type of threading.Lock while simulations run. Lock must stay a class (as
    on 3.13, where it is _thread.lock) or builtin-like: a class that stores it
    (werkzeug's ``Map.lock_class = Lock``) calls ``self.lock_class()``, and a plain
    function there would be bound and receive ``self``."""

    def __call__(cls):
        return _allocate_lock()

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, (_Lock, _real_lock_type))


_ThreadingLock = _LockFactory("lock", (), {"__module__": "_thread", "__doc__": _real_lock_type.__doc__})


def _rlock(*args, **kwargs):
    # threading's pure-Python RLock, on _allocate_lock and get_ident, both patched.
    return threading._PyRLock(*args, **kwargs) if _core.in_task() else _real["RLock"](*args, **kwargs)


def _get_ident() -> int:
    state = _state()
    return _real["get_ident"]() if state is None else state.ident


def _get_native_id() -> int:
    state = _state()
    return _real["get_native_id"]() if state is None else state.ident


def _awaited_at_exit(process: _Process, lock: _Lock) -> None:
    """The process's exit waits until `lock`, a non-daemon thread's end, is released."""
    locks = process.shutdown_locks
    locks[:] = [other for other in locks if other.locked()]
    locks.append(lock)


def _set_sentinel():
    """The lock that CPython's C runtime releases when a thread's state dies, which
    Thread.join waits for (3.11, 3.12): for a task, released when its body ends."""
    state = _state()
    if state is None:
        return _real["_set_sentinel"]()
    lock = _Lock()
    state.sentinels.append(lock)
    if state.thread is not None and not state.thread.daemon:
        _awaited_at_exit(state.process, lock)
    return lock


class _Handle:
    """_thread._ThreadHandle for a task (3.13): Thread.join waits for it to be done,
    which it is when the task's body ends."""

    def __init__(self, ident: int | None = None) -> None:
        self.ident = ident
        self.done = _Lock()
        self.done.acquire()

    def join(self, timeout=None) -> None:
        if self.done.acquire(True, -1 if timeout is None else timeout):
            self.done.release()

    def is_done(self) -> bool:
        return not self.done.locked()

    def _set_done(self) -> None:
        if self.done.locked():
            self.done.release()


def _thread_handle():
    return _Handle() if _core.in_task() else _real["_ThreadHandle"]()


def _make_thread_handle(ident):
    return _Handle(ident) if _core.in_task() else _real["_make_thread_handle"](ident)


def _start_joinable_thread(function, handle=None, daemon=True):
    if not _core.in_task():
        return _real["start_joinable_thread"](function, handle=handle, daemon=daemon)
    if handle is None:
        handle = _Handle()
    if not daemon:
        _awaited_at_exit(_state().process, handle.done)
    handle.ident = _start_new_thread(function, (), done=handle.done)
    return handle


def _start_new_thread(function, args, kwargs=None, *, done: _Lock | None = None):
    """_thread.start_new_thread; `done`, if given, is released when the thread ends."""
    if not _core.in_task():
        return _real["start_new_thread"](function, args, *(() if kwargs is None else (kwargs,)))
    if not callable(function):
        raise TypeError("first arg must be callable")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    process = _state().process
    owner = getattr(function, "__self__", None)  # Thread._bootstrap's Thread
    thread = owner if isinstance(owner, threading.Thread) else None
    if thread is not None:
        process.threads.append(thread)

    def main() -> int:
        state = _TaskState(process, _core.tid(), thread)
        if done is not None:
            state.sentinels.append(done)
        _tls.state = state
        try:
            function(*args, **(kwargs or {}))
        except SystemExit:
            pass
        except _core.TaskCancelled:
            raise
        except BaseException:
            if _core.stopping():
                raise _core.TaskCancelled from None  # see _excepthook
            # What _thread prints through sys.unraisablehook.
            print(f"Exception ignored in thread started by: {function!r}", file=sys.stderr)
            traceback.print_exc()
        finally:
            if thread is not None:
                process.threads.remove(thread)
            else:  # a dummy Thread that current_thread() made must not outlive the task
                with threading._active_limbo_lock:
                    threading._active.pop(state.ident, None)
            # Every sentinel is released before any waiter is woken: waking is a
            # kernel call, which a stop may interrupt, and a sentinel left held would
            # hang the interpreter's exit (threading._shutdown waits for it).
            held = [lock for lock in state.sentinels if lock.locked()]
            for lock in held:
                lock._real.release()
            for lock in held:
                lock._wake()
        return 0

    name = thread.name if thread is not None else getattr(function, "__qualname__", "thread")
    return _core.start_thread(name, main)


class _MainThread(threading.Thread):
    """threading's main thread for a simulated process: its first task."""

    def __init__(self, ident: int) -> None:
        super().__init__(name="MainThread", daemon=False)
        if _HANDLES:
            self._handle = _Handle(ident)
        else:
            self._tstate_lock = _Lock()
            self._tstate_lock.acquire()
        self._ident = self._native_id = ident
        self._started.set()

    def end(self) -> None:
        """Marks the thread stopped, as the interpreter does once its code ended."""
        if _HANDLES:
            self._handle._set_done()
        else:
            self._tstate_lock.release()
            self._stop()


def start_process(on_error: Callable[[BaseException], None] | None = None) -> None:
    """Makes the calling task, a process's first, its process's main thread.
    on_error, if given, is told of each exception that ends one of its threads."""
    state = _TaskState(_Process(on_error), _core.tid(), None)
    _tls.state = state
    state.thread = state.process.main = _MainThread(state.ident)
    # Where CPython keeps its main thread too: code that looks the main thread up by
    # its ident (gevent's monkey.patch_all) finds it.
    with threading._active_limbo_lock:
        threading._active[state.ident] = state.thread


def end_process() -> None:
    """Forgets the calling task's process, its main thread's entry in particular."""
    main = _state().process.main
    with threading._active_limbo_lock:
        for ident, thread in list(threading._active.items()):
            if thread is main:
                del threading._active[ident]


def shutdown() -> None:
    """What Python does when a program's main thread ends (threading._shutdown):
    the main thread counts as stopped and the process waits for its non-daemon
    threads, including those they start meanwhile."""
    state = _state()
    state.process.main.end()
    state.what = "threading._shutdown"
    locks = state.process.shutdown_locks
    while locks:
        lock = locks.pop(0)
        lock.acquire()
        lock.release()


def current_process() -> _Process:
    """The calling task's process: one object for all its threads."""
    return _state().process


def _current_thread():
    state = _state()
    return _real_current_thread() if state is None or state.thread is None else state.thread


def _main_thread():
    state = _state()
    return _real_main_thread() if state is None else state.process.main


def _enumerate():
    state = _state()
    if state is None:
        return _real_enumerate()
    process = state.process
    return ([process.main] if process.main.is_alive() else []) + list(process.threads)


def _active_count():
    return _real_active_count() if _state() is None else len(_enumerate())


def _counter():
    state = _state()
    return _real_counter() if state is None else state.process.names()


def _executor_counter():
    state = _state()
    return _real_executor_counter() if state is None else state.process.executors()


def _excepthook(args, /):
    # A thread stopped with its process unwinds through Thread._bootstrap_inner,
    # which reports whatever ends run(): TaskCancelled, or what its clean-up met
    # (the process's sockets are closed already). On Linux such a thread just dies.
    state = _state()
    if state is not None and (_core.stopping() or isinstance(args.exc_value, _core.TaskCancelled)):
        return  # TaskCancelled: the thread's own os._exit() ended its process
    if state is None or args.exc_value is None:
        _real_excepthook(args)
    else:
        # threading's own hook, but with the traceback a real run would show.
        name = args.thread.name if args.thread is not None else threading.get_ident()
        sys.stderr.write(f"Exception in thread {name}:\n" + format_exception(args.exc_value))
    if state is not None and state.process.on_error and args.exc_value is not None:
        state.process.on_error(args.exc_value)


def _monotonic():
    # threading and queue read `from time import monotonic`, bound at import: go
    # through the time module, virtual in tasks while simulations run.
    return time.monotonic()


def _labelled(original, what: str):
    """`original` with its waits named `what` in the deadlock report, unless an
    outer call named them already (Event.wait waits in Condition.wait)."""

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        state = _state()
        if state is None or state.what is not None:
            return original(*args, **kwargs)
        state.what = what
        try:
            return original(*args, **kwargs)
        finally:
            state.what = None

    return wrapper


class _SimpleQueue(queue._PySimpleQueue):
    """queue.SimpleQueue: made in a task, queue's pure-Python one (whose get()
    waits on a Semaphore, so through the futexes); elsewhere the C one."""

    __module__ = "queue"
    __qualname__ = "SimpleQueue"

    def __new__(cls, *args, **kwargs):
        if cls is _SimpleQueue and not _core.in_task():
            return _real_simple_queue(*args, **kwargs)
        return super().__new__(cls)

    get = _labelled(queue._PySimpleQueue.get, "SimpleQueue.get")


_SimpleQueue.__name__ = "SimpleQueue"


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    replaced = [
        ("start_new_thread", _start_new_thread),
        ("allocate_lock", _allocate_lock),
        ("RLock", _rlock),
        ("get_ident", _get_ident),
        ("get_native_id", _get_native_id),
        ("_set_sentinel", _set_sentinel),
        ("start_joinable_thread", _start_joinable_thread),
        ("_make_thread_handle", _make_thread_handle),
        ("_ThreadHandle", _thread_handle),
    ]
    out = [(_thread, name, fn) for name, fn in replaced]
    out += [(_thread, "allocate", _allocate_lock)]
    out += [(threading, name, fn) for name, fn in [
        ("_start_new_thread", _start_new_thread),
        ("_start_joinable_thread", _start_joinable_thread),
        ("_make_thread_handle", _make_thread_handle),
        ("_ThreadHandle", _thread_handle),
        ("_allocate_lock", _allocate_lock),
        ("Lock", _ThreadingLock),
        ("_CRLock", _rlock),
        ("get_ident", _get_ident),
        ("get_native_id", _get_native_id),
        ("_set_sentinel", _set_sentinel),
        ("current_thread", _current_thread),
        ("main_thread", _main_thread),
        ("enumerate", _enumerate),
        ("active_count", _active_count),
        ("_counter", _counter),
        ("excepthook", _excepthook),
        ("_time", _monotonic),
    ]]
    out += [(sys, "unraisablehook", _core.unraisablehook_over(sys.unraisablehook))]
    out += [
        (queue, "time", _monotonic),
        (queue, "SimpleQueue", _SimpleQueue),
        # A class attribute: staticmethod, or the instance would be passed in.
        (_futures_thread.ThreadPoolExecutor, "_counter", staticmethod(_executor_counter)),
    ]
    labels = [
        (threading.Condition, "wait", "Condition.wait"),
        (threading.Event, "wait", "Event.wait"),
        (threading.Semaphore, "acquire", "Semaphore.acquire"),
        (threading.Semaphore, "__enter__", "Semaphore.acquire"),
        (threading.Barrier, "wait", "Barrier.wait"),
        (threading.Thread, "join", "Thread.join"),
        (threading._PyRLock, "acquire", "RLock.acquire"),
        (threading._PyRLock, "__enter__", "RLock.acquire"),
        (queue.Queue, "get", "Queue.get"),
        (queue.Queue, "put", "Queue.put"),
    ]
    out += [(cls, name, _labelled(vars(cls)[name], what)) for cls, name, what in labels]
    # Each version has only some of these: 3.13 the handles, 3.11 and 3.12 the sentinels.
    return [(target, name, fn) for target, name, fn in out if hasattr(target, name)]
