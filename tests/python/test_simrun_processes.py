"""simrun with process trees: fork, exec, wait, pipes between processes, shells. Each
example runs RUNS times with the same seed and must print the same bytes every time,
and leave no process behind (every simrun started here carries a marker in its
environment, which its children inherit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNS = 20
DEADLINE = 120.0
MARKER = "NETSIM_SIMRUN_PROCESSES"

SCRIPTS = {
    "mp_process.py": """
        import multiprocessing, os

        def whoami(what):
            print("Process %s says: %s (parent %s)" % (os.getpid(), what, os.getppid()))

        if __name__ == "__main__":
            whoami("I'm the main program")
            for n in range(4):
                p = multiprocessing.Process(target=whoami, args=(f"I'm function {n}",))
                p.start()
        """,
    "dishes.py": """
        import multiprocessing as mp

        def washer(dishes, output):
            for dish in dishes:
                print('Washing', dish, 'dish')
                output.put(dish)

        def dryer(input):
            while True:
                dish = input.get()
                print('Drying', dish, 'dish')
                input.task_done()

        if __name__ == '__main__':
            dish_queue = mp.JoinableQueue()
            dryer_proc = mp.Process(target=dryer, args=(dish_queue,))
            dryer_proc.daemon = True
            dryer_proc.start()
            washer(['salad', 'bread', 'entree', 'dessert'], dish_queue)
            dish_queue.join()
        """,
    "pool.py": """
        import multiprocessing as mp, os

        def square(x):
            return x * x, os.getpid()

        if __name__ == '__main__':
            with mp.Pool(3) as pool:
                print(pool.map(square, range(10)))
        """,
    "subproc.py": """
        import subprocess, sys
        r = subprocess.run(["echo", "hello from echo"], capture_output=True)
        print("run:", r.returncode, r.stdout)
        p = subprocess.Popen([sys.executable, "-c", "import sys, os; print(os.getpid(), sys.stdin.read().upper())"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = p.communicate(b"shout this")
        print("popen:", p.returncode, out)
        print("exit:", subprocess.run(["sh", "-c", "exit 3"]).returncode)
        """,
    "tree.py": """
        import os

        def grow(depth):
            # A chain of 50 processes (49 forks), each waiting for its child.
            if depth == 50:
                return 0
            pid = os.fork()
            if pid == 0:
                os._exit(grow(depth + 1))
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status) + 1

        print("levels:", grow(1), "from", os.getpid())
        """,
    "sleeper.py": """
        import os
        r, w = os.pipe()
        for _ in range(3):
            if os.fork() == 0:
                os.read(r, 1)  # blocks for good: nobody writes
                os._exit(0)
        # Computes without a call, so only an interruption (or the watchdog) ends the run;
        # virtual time, which a sleep would spend, does not pass.
        while True:
            pass
        """,
}

EXAMPLES = {
    "mp_process": ["{d}/mp_process.py"],
    "dishes": ["{d}/dishes.py"],
    "pool": ["{d}/pool.py"],
    "subprocess": ["{d}/subproc.py"],
    "tree": ["{d}/tree.py"],
    "pipeline": ["sh -c 'printf \"b\\na\\nc\\n\" | sort | tr a-z A-Z'"],
    "nc": [f"{REPO}/examples/python/echo_server.py", "sh -c 'echo hi | nc -N localhost 10000'"],
}


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("processes")
    for name, text in SCRIPTS.items():
        (d / name).write_text(textwrap.dedent(text))
    return d


def simrun(commands: list[str], *extra: str) -> subprocess.Popen:
    env = dict(os.environ, **{MARKER: "1"})
    return subprocess.Popen([sys.executable, "-m", "netsim.simrun", "--seed", "42", "--timeout", "60",
                             *extra, *commands], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def left_behind() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"{MARKER}=1".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def run_once(commands: list[str]) -> tuple[int, bytes]:
    proc = simrun(commands)
    out, err = proc.communicate(timeout=DEADLINE)
    return proc.returncode, out + b"\n--stderr--\n" + err


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_repeats_byte_for_byte(name: str, scripts: Path) -> None:
    commands = [c.format(d=scripts) for c in EXAMPLES[name]]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_once(commands), range(RUNS)))
    status, first = results[0]
    assert status == 0, first.decode(errors="replace")
    for other in results[1:]:
        assert other == results[0]
    assert not left_behind()


def test_outputs(scripts: Path) -> None:
    text = {name: run_once([c.format(d=scripts) for c in cmds])[1].decode() for name, cmds in EXAMPLES.items()}
    assert "mp_process-2: Process 1001 says: I'm function 0 (parent 1000)" in text["mp_process"]
    assert text["dishes"].count("Drying") == 4
    assert "[(0, 10" in text["pool"] and "(81, 10" in text["pool"]
    assert "run: 0 b'hello from echo\\n'" in text["subprocess"]
    assert "SHOUT THIS" in text["subprocess"] and "exit: 3" in text["subprocess"]
    assert "tree: levels: 49 from 1000" in text["tree"]
    assert "A\n" in text["pipeline"] and text["pipeline"].index(": A") < text["pipeline"].index(": C")
    assert "received b'hi\\n'" in text["nc"] and ": hi" in text["nc"]


def test_nothing_left_after_sigint(scripts: Path) -> None:
    proc = simrun([f"{scripts}/sleeper.py"])
    deadline = time.monotonic() + DEADLINE
    # Wait until the tree is there, then interrupt simrun as a terminal would.
    while len(left_behind()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130
    assert not left_behind()
