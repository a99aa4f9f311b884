"""A real Ctrl-C (SIGINT) while Simulation.run() runs in a script or a notebook
(issue 9): the run stops at once, even with a task that computes without ever making
a call; every task is unwound (its `finally` runs), run() raises KeyboardInterrupt
carrying the Result, no thread is left, a second run works and the interpreter exits
cleanly. Each case runs in a subprocess, several times, compared byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

# The tasks: one blocked in recv (with a thread of its process blocked on an Event),
# one in a virtual sleep that would end only after a million seconds, and one last
# task that stops the run, either by computing forever (in its own code or in a
# finalizer) or by ping-ponging forever with a thread of its own (so that the run
# never runs out of work).
PROGRAM = textwrap.dedent('''
    import _thread, os, signal, socket, sys, threading, time
    import netsim

    def receiver():
        waiting = threading.Event()
        threading.Thread(target=waiting.wait, daemon=True).start()
        a, b = socket.socketpair()
        try:
            a.recv(1)
        finally:
            print("receiver unwound")

    def sleeper():
        try:
            time.sleep(10**6)
        finally:
            print("sleeper unwound")

    def interrupt():
        if sys.argv[2] == "self":
            # A Ctrl-C of the interpreter, as Python simulates one: in a task,
            # os.kill(os.getpid()) would signal the task's simulated process.
            _thread.interrupt_main()
        else:  # the test sends SIGINT once it reads this line
            os.write(1, b"ready\\n")

    def busy():
        print("busy starts")
        interrupt()
        n = 0
        while True:
            n += 1

    def spin():
        n = 0
        while n < 100000:
            n += 1

    class Slow:
        def __del__(self):
            spin()

    def finalizer():
        # Half the time goes into a finalizer: the stop often lands in it, where Python
        # cannot let an exception escape, and must still end the task.
        print("finalizer starts")
        interrupt()
        while True:
            Slow()
            spin()

    def pingpong():
        a, b = socket.socketpair()
        def echo():
            while True:
                b.sendall(b.recv(1))
        threading.Thread(target=echo, daemon=True).start()
        print("pingpong starts")
        interrupt()
        while True:
            a.sendall(b"x")
            a.recv(1)

    sim = netsim.Simulation(seed=1)
    sim.spawn("receiver", receiver)
    sim.spawn("sleeper", sleeper)
    sim.spawn(sys.argv[1], globals()[sys.argv[1]])
    try:
        sim.run()
        print("not interrupted")
    except KeyboardInterrupt as e:
        print("KeyboardInterrupt")
        sys.stdout.write(e.netsim_result.transcript)
        print([(p.name, p.status, p.killed) for p in e.netsim_result.processes])
    print("threads left:", threading.active_count())
    again = netsim.Simulation(seed=1)
    again.spawn("again", lambda: print("second run"))
    sys.stdout.write(str(again.run()))
''')

EXPECTED = ("KeyboardInterrupt\n"
            "{task}: {task} starts\n"
            "receiver: receiver unwound\n"
            "sleeper: sleeper unwound\n"
            "[('receiver', 143, True), ('sleeper', 143, True), ('{task}', 143, True)]\n"
            "threads left: 1\n"
            "again: second run\n")


def run_program(tmp_path, task: str, sender: str) -> subprocess.CompletedProcess:
    script = tmp_path / "interrupted.py"
    script.write_text(PROGRAM)
    # The hash seed simrun would give seed 1, so netsim has no HashSeedWarning to print.
    env = dict(os.environ, PYTHONHASHSEED="2")
    process = subprocess.Popen([sys.executable, str(script), task, sender],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = b""
    if sender == "outside":
        out = process.stdout.readline()
        assert out == b"ready\n"
        out = b""
        process.send_signal(signal.SIGINT)
    try:
        rest, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run did not stop at SIGINT")
    return subprocess.CompletedProcess(process.args, process.returncode, out + rest, err)


@pytest.mark.parametrize("task", ["busy", "finalizer", "pingpong"])
@pytest.mark.parametrize("sender", ["self", "outside"])
def test_ctrl_c_stops_the_run(tmp_path, task, sender):
    outputs = set()
    for _ in range(3):
        done = run_program(tmp_path, task, sender)
        assert done.stderr == b""
        assert done.returncode == 0
        outputs.add(done.stdout)
    assert outputs == {EXPECTED.format(task=task).encode()}


def test_sigint_handler_of_the_program_is_kept(tmp_path):
    """A program that handles SIGINT itself keeps its handler: the run is not stopped
    behind its back, and the handler is the same after the run."""
    script = tmp_path / "handled.py"
    script.write_text(textwrap.dedent('''
        import _thread, signal, netsim
        seen = []
        handler = lambda signum, frame: seen.append(signum)
        signal.signal(signal.SIGINT, handler)
        def task():
            _thread.interrupt_main()  # a Ctrl-C of the interpreter
            print("finished")
        sim = netsim.Simulation()
        sim.spawn("task", task)
        print(sim.run(), end="")
        print(seen, signal.getsignal(signal.SIGINT) is handler)
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60,
                          env=dict(os.environ, PYTHONHASHSEED="1"))  # simrun's for seed 0
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == b"task: finished\n[2] True\n"
