"""The in-process API on what a new user tries: os._exit and odd sys.exit codes in a
task, bad constructor arguments. The host interpreter lives, the messages name the
argument (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

import netsim


def exits(name: str, how):
    def make():
        sim = netsim.Simulation(seed=3)
        sim.spawn(name, how)
        sim.spawn("after", lambda: print("still here"))
        return sim
    return make


def test_os_exit_in_a_task_ends_only_its_process(run_many):
    def leave():
        print("leaving")
        try:
            os._exit(7)
        finally:
            pass
        print("never")

    result = run_many(exits("leave", leave), times=5)
    assert result.transcript == "leave: leaving\nafter: still here\n"
    assert [(p.name, p.status) for p in result.processes] == [("leave", 7), ("after", 0)]


def test_os_exit_in_a_thread_ends_its_whole_process(run_many):
    def main():
        def worker():
            print("worker leaves")
            os._exit(3)
        threading.Thread(target=worker).start()
        time.sleep(100)
        print("never")

    result = run_many(exits("main", main), times=5)
    assert result.transcript == "main: worker leaves\nafter: still here\n"
    assert [(p.name, p.status) for p in result.processes] == [("main", 3), ("after", 0)]


# What CPython gives for `python -c "import sys; sys.exit(CODE)"`, checked below on the
# real interpreter too.
EXIT_CODES = [(2**70, 255), (-2**70, 255), (2**40 + 3, 3), (-1, 255), (256, 0), (True, 1),
              ("bye", 1), (3.0, 1), (None, 0)]


@pytest.mark.parametrize("code, status", EXIT_CODES)
def test_sys_exit_codes_give_cpythons_status(run_many, code, status):
    real = subprocess.run([sys.executable, "-c", f"import sys; sys.exit({code!r})"], capture_output=True)
    assert real.returncode == status
    result = run_many(exits("p", lambda: sys.exit(code)), times=3)
    assert result.processes[0].status == status
    printed = real.stderr.decode()
    assert result.transcript == "".join(f"p: {line}\n" for line in printed.splitlines()) + "after: still here\n"


@pytest.mark.parametrize("arguments, error, message", [
    ({"seed": "x"}, TypeError, "seed must be an integer"),
    ({"seed": -1}, ValueError, "seed must be a non-negative integer, not -1"),
    ({"seed": 2**64}, ValueError, "seed must be below 2**64"),
    ({"seed": True}, TypeError, "seed must be an integer"),
    ({"policy": 3}, ValueError, "policy is 'run-until-block', 'random', 'pct' or 'pct:D'"),
    ({"policy": "pct:0"}, ValueError, "policy is 'run-until-block', 'random', 'pct' or 'pct:D'"),
    ({"epoch": "x"}, ValueError, "epoch takes an ISO 8601 date"),
    ({"epoch": []}, TypeError, "epoch is a date"),
    ({"epoch": float("nan")}, ValueError, "epoch must be within 9e9 seconds of 1970"),
    ({"epoch": 1e300}, ValueError, "epoch must be within 9e9 seconds of 1970"),
    ({"socket_buffer": 0}, ValueError, "socket_buffer must be from 1 to 2**31-1 bytes, not 0"),
    ({"socket_buffer": -5}, ValueError, "socket_buffer must be from 1"),
    ({"socket_buffer": 2**64}, ValueError, "socket_buffer must be from 1"),
    ({"socket_buffer": 1.5}, TypeError, "socket_buffer must be an integer"),
    ({"raise_errors": "yes"}, TypeError, "raise_errors must be True or False"),
])
def test_bad_constructor_arguments_are_named(arguments, error, message):
    with pytest.raises(error) as raised:
        netsim.Simulation(**arguments)
    assert type(raised.value) is error
    assert str(raised.value).startswith(message)


def test_a_one_byte_socket_buffer_still_carries_data(run_many):
    import socket

    def serve():
        with socket.create_server(("127.0.0.1", 9)) as listener:
            conn, _ = listener.accept()
            print("got", b"".join(iter(lambda: conn.recv(100), b"")))

    def send():
        with socket.create_connection(("127.0.0.1", 9)) as sock:
            sock.sendall(b"hello")

    def make():
        sim = netsim.Simulation(seed=1, socket_buffer=1)
        sim.spawn("server", serve)
        sim.spawn("client", send)
        sim.spawn("wait", lambda: time.sleep(1))
        return sim

    assert run_many(make, times=3).transcript == "server: got b'hello'\n"
