"""os.pipe in simulated tasks: the kernel's pipes, answering as Linux's do (each
check runs on a real pipe outside the simulation too, and both must agree)."""

import errno
import fcntl
import os
import select
import threading

import netsim


def pipe_story():
    """What a program sees of a pipe: flags, the wrong ends, data, EOF, EPIPE."""
    seen = []

    def attempt(call, *args):
        try:
            return call(*args)
        except OSError as e:
            return errno.errorcode[e.errno]

    r, w = os.pipe()
    seen.append(("fds differ", r != w))
    seen.append(("flags", fcntl.fcntl(r, fcntl.F_GETFL) & (os.O_ACCMODE | os.O_NONBLOCK),
                 fcntl.fcntl(w, fcntl.F_GETFL) & (os.O_ACCMODE | os.O_NONBLOCK)))
    seen.append(("cloexec", fcntl.fcntl(r, fcntl.F_GETFD), os.get_blocking(r)))
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
    seen.append(("non-blocking", os.get_blocking(r), attempt(os.read, r, 10)))
    seen.append(("wrong ends", attempt(os.write, r, b"x"), attempt(os.read, w, 1)))
    seen.append(("poll empty", select.select([r], [w], [], 0)[:2] == ([], [w])))
    seen.append(("write", os.write(w, b"hello")))
    seen.append(("poll ready", select.select([r], [], [], 0)[0] == [r]))
    seen.append(("read", os.read(r, 3), os.read(r, 10)))
    os.set_blocking(r, True)
    writer = threading.Thread(target=lambda: (os.write(w, b"later"), os.close(w)))
    writer.start()
    seen.append(("blocking read", os.read(r, 10), os.read(r, 10)))
    writer.join()
    os.close(r)
    r, w = os.pipe()
    os.close(r)
    seen.append(("reader gone", attempt(os.write, w, b"x")))
    os.close(w)
    return seen


def test_os_pipe_in_a_task_behaves_as_a_linux_pipe():
    expected = pipe_story()  # real pipes

    def task():
        for entry in pipe_story():
            print(*entry)

    def make():
        sim = netsim.Simulation(seed=1)
        sim.spawn("pipes", task)
        return sim

    results = [make().run() for _ in range(3)]
    for other in results[1:]:
        assert other.transcript_bytes == results[0].transcript_bytes
        assert other.trace_jsonl == results[0].trace_jsonl
    assert results[0].transcript == "".join(
        "pipes: " + " ".join(str(part) for part in entry) + "\n" for entry in expected)
