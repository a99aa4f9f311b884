"""Process ids and signals in simulated tasks (netsim._pids): a task sees its
simulated process's pid, parent, group and session, as simrun shows them to a real
program; os.kill and its kin reach simulated processes only, with the same outcome
in both modes; a real process is never reached, whatever its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import netsim

IDS = textwrap.dedent('''
    import os, threading
    print("ids", os.getpid(), os.getppid(), os.getpgrp(), os.getpgid(0), os.getsid(0))
    t = threading.Thread(target=lambda: print("thread", threading.get_native_id() - os.getpid()))
    t.start(); t.join()
''')

VICTIM = textwrap.dedent('''
    import time
    print("victim waits")
    time.sleep(60)
    print("not reached")
''')

# Run after the victim blocks (pid 1000); it is 1001.
KILLER = textwrap.dedent('''
    import errno, os, signal, sys
    def attempt(call, *args):
        try:
            return call(*args)
        except OSError as e:
            return errno.errorcode[e.errno]
    print("probe", attempt(os.kill, 1000, 0), attempt(os.kill, 1001, 0), attempt(os.kill, 4242, 0),
          attempt(os.kill, 1, 0), attempt(os.kill, -1, 0), attempt(os.kill, 1000, 1000),
          attempt(os.kill, 4242, 1000))
    print("groups", attempt(os.killpg, 1000, 0), attempt(os.killpg, 4242, 0))
    print("ignored", attempt(os.kill, 1000, signal.SIGCHLD))
    print("kill", attempt(os.kill, 1000, signal.SIGTERM))
    print("gone", attempt(os.kill, 1000, signal.SIGTERM))
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGUSR1)
    print("not reached")
''')


def both_modes(tmp_path, monkeypatch, scripts: dict[str, str]) -> tuple[bytes, bytes]:
    """The transcripts of the scripts run together in-process and under simrun, as
    tests/python/test_conformance.py runs them."""
    for name, text in scripts.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    sim = netsim.Simulation(seed=1)
    for name in scripts:
        sim.spawn_script(None, f"{name}.py", [])
    inside = sim.run().transcript_bytes
    run = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "1", *(f"{n}.py" for n in scripts)],
                         capture_output=True, timeout=120)
    assert run.stderr == b"", run.stderr.decode(errors="replace")
    return inside, run.stdout


def test_a_task_sees_its_simulated_ids_as_simrun_shows_them(tmp_path, monkeypatch):
    runs = [both_modes(tmp_path, monkeypatch, {"one": IDS, "two": IDS}) for _ in range(2)]
    inside, simrun = runs[0]
    # A process's pid is its main thread's id; its first thread takes the next id
    # after the two pids, as Linux numbers threads and processes alike.
    assert inside == (b"one: ids 1000 1 1000 1000 1\n"
                      b"one: thread 2\n"
                      b"two: ids 1001 1 1001 1001 1\n"
                      b"two: thread 2\n")
    assert {out for pair in runs for out in pair} == {inside}


def test_kill_between_simulated_processes_is_the_same_in_both_modes(tmp_path, monkeypatch):
    runs = [both_modes(tmp_path, monkeypatch, {"victim": VICTIM, "killer": KILLER}) for _ in range(2)]
    inside, simrun = runs[0]
    # Linux's answers: a live process or group is there (kill(pid, 0) is None), any
    # other pid is ESRCH (-1, every process, too: a simulation reaches no other), a
    # bad signal EINVAL (but ESRCH to nobody: Linux looks for the target first);
    # SIGCHLD is ignored; SIGTERM and SIGUSR1 end a process that does not handle them.
    # The victim takes its signal when it next runs, after the killer's turn: until
    # then it is alive ("gone None").
    assert inside == (
        b"victim: victim waits\n"
        b"killer: probe None None ESRCH ESRCH ESRCH EINVAL ESRCH\n"
        b"killer: groups None ESRCH\n"
        b"killer: ignored None\n"
        b"killer: kill None\n"
        b"killer: gone None\n"
        b"killer: netsim: killed by SIGUSR1 (User defined signal 1)\n"
        b"victim: netsim: killed by SIGTERM (Terminated)\n")
    assert {out for pair in runs for out in pair} == {inside}


def test_a_task_reaches_no_real_process():
    """The host's own pid and main thread, and a real process's pid, are not
    simulated: ESRCH, and each stays alive. A task signalling itself ends its
    simulated process, not the interpreter running the simulation."""
    real = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    host, host_thread = os.getpid(), threading.main_thread().ident
    try:
        def reach():
            for call, args in ((os.kill, (real.pid, signal.SIGKILL)), (os.kill, (host, signal.SIGKILL)),
                               (os.killpg, (real.pid, signal.SIGKILL)),
                               (signal.pthread_kill, (host_thread, signal.SIGKILL))):
                try:
                    call(*args)
                    print(call.__name__, "reached")
                except ProcessLookupError:
                    print(call.__name__, "ESRCH")
            signal.raise_signal(signal.SIGTERM)
            print("not reached")

        results = []
        for _ in range(3):
            sim = netsim.Simulation(seed=1)
            sim.spawn("reach", reach)
            results.append(sim.run())
        assert {r.transcript_bytes for r in results} == {results[0].transcript_bytes}
        assert results[0].transcript == ("reach: kill ESRCH\n"
                                         "reach: kill ESRCH\n"
                                         "reach: killpg ESRCH\n"
                                         "reach: pthread_kill ESRCH\n"
                                         "reach: netsim: killed by SIGTERM (Terminated)\n")
        assert real.poll() is None
    finally:
        real.kill()
        real.wait()


def test_subprocess_still_signals_its_real_child():
    def task():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        child.terminate()
        print("status", child.wait())

    sim = netsim.Simulation(seed=1)
    sim.spawn("parent", task)
    assert sim.run().transcript == f"parent: status {-signal.SIGTERM}\n"
