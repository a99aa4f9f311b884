"""simrun's eventfd, process groups and SIGCHLD: each program runs RUNS times with the
same seed and must print the same bytes every time, and what it prints must be what
Linux would make it print."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

RUNS = 20
DEADLINE = 120.0

PYTHON = {
    "eventfd_select.py": """
        import os, select, threading, time

        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

        def producer():
            for i in range(3):
                time.sleep(0.5)
                os.eventfd_write(fd, i + 1)

        t = threading.Thread(target=producer)
        t.start()
        total = 0
        while total < 6:
            readable, _, _ = select.select([fd], [], [], 5)
            value = os.eventfd_read(fd)
            total += value
            print("read", value, "at", round(time.monotonic(), 3), "ready", readable == [fd])
        t.join()
        try:
            os.eventfd_read(fd)
        except BlockingIOError:
            print("empty: EAGAIN")
        sem = os.eventfd(3, os.EFD_SEMAPHORE)
        print("semaphore", [os.eventfd_read(sem) for _ in range(3)])
        """,
    "sigchld.py": """
        import os, signal, time

        def on_child(signum, frame):
            pid, status = os.waitpid(-1, os.WNOHANG)
            print("SIGCHLD: child", pid, "ended with", os.waitstatus_to_exitcode(status))

        signal.signal(signal.SIGCHLD, on_child)
        if os.fork() == 0:
            time.sleep(1)
            print("child", os.getpid(), "exits")
            os._exit(7)
        print("parent", os.getpid(), "sleeps")
        time.sleep(3)
        print("parent wakes at", time.monotonic())
        """,
    "groups.py": """
        import os, signal, time

        print("leader", os.getpid(), "group", os.getpgrp(), "session", os.getsid(0))
        kids = []
        for i in range(3):
            pid = os.fork()
            if pid == 0:
                if i == 2:
                    os.setpgid(0, 0)
                def bye(sig, frame, i=i):
                    print("child", i, os.getpid(), "pgid", os.getpgid(0), "got", signal.Signals(sig).name)
                    os._exit(10 + i)
                signal.signal(signal.SIGTERM, bye)
                signal.signal(signal.SIGUSR1, bye)
                time.sleep(100)
                os._exit(1)
            kids.append(pid)
        time.sleep(0.1)
        os.setpgid(kids[1], kids[1])
        print("groups", [os.getpgid(k) for k in kids])
        signal.signal(signal.SIGUSR1, lambda s, f: print("leader got SIGUSR1"))
        os.kill(0, signal.SIGUSR1)
        os.killpg(kids[1], signal.SIGTERM)
        os.kill(-kids[2], signal.SIGTERM)
        for k in kids:
            pid, status = os.waitpid(k, 0)
            print("reaped", pid, os.waitstatus_to_exitcode(status))
        try:
            os.killpg(kids[2], signal.SIGTERM)
        except ProcessLookupError:
            print("group gone: ESRCH")
        try:
            os.setsid()
        except PermissionError:
            print("setsid: EPERM for a group leader")
        """,
}

C = {
    "eventfd_epoll": r"""
        #include <errno.h>
        #include <pthread.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/epoll.h>
        #include <sys/eventfd.h>
        #include <unistd.h>

        static int efd;

        static void* producer(void* arg) {
          (void)arg;
          for (int i = 1; i <= 3; ++i) {
            usleep(1000 * i);
            eventfd_write(efd, (eventfd_t)i * 10);
          }
          return NULL;
        }

        static void report(const char* what, ssize_t r) {
          printf("%s: %zd %s\n", what, r, r < 0 ? strerror(errno) : "");
        }

        int main(void) {
          efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
          int ep = epoll_create1(0);
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
          epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
          pthread_t t;
          pthread_create(&t, NULL, producer, NULL);
          uint64_t total = 0;
          while (total < 60) {
            struct epoll_event out;
            int n = epoll_wait(ep, &out, 1, 1000);
            uint64_t v = 0;
            ssize_t r = read(efd, &v, sizeof v);
            printf("epoll %d read %zd value %llu\n", n, r, (unsigned long long)v);
            total += v;
          }
          pthread_join(t, NULL);
          uint64_t v, bad = UINT64_MAX, big = 0xfffffffffffffffeULL, one = 1;
          report("drained", read(efd, &v, sizeof v));
          report("all ones", write(efd, &bad, sizeof bad));
          report("short", write(efd, &one, 4));
          report("to the ceiling", write(efd, &big, sizeof big));
          report("past it", write(efd, &one, sizeof one));
          struct epoll_event both = {.events = EPOLLIN | EPOLLOUT, .data.fd = efd};
          epoll_ctl(ep, EPOLL_CTL_MOD, efd, &both);
          epoll_wait(ep, &both, 1, 0);
          printf("full: in %d out %d\n", !!(both.events & EPOLLIN), !!(both.events & EPOLLOUT));
          int sem = eventfd(2, EFD_SEMAPHORE);
          eventfd_t a, b;
          eventfd_read(sem, &a);
          eventfd_read(sem, &b);
          printf("semaphore: %llu %llu\n", (unsigned long long)a, (unsigned long long)b);
          return 0;
        }
        """,
    "sigchld_restart": r"""
        #include <signal.h>
        #include <stdio.h>
        #include <sys/wait.h>
        #include <unistd.h>

        static void on_child(int sig) { printf("handler: signal %d\n", sig); }

        int main(void) {
          signal(SIGCHLD, on_child);  /* glibc's signal(): SA_RESTART */
          pid_t pid = fork();
          if (pid == 0) {
            usleep(1000);
            _exit(3);
          }
          int status = 0;
          pid_t got = waitpid(pid, &status, 0);
          printf("waitpid: %s, status %d\n", got == pid ? "the child" : "failed", WEXITSTATUS(status));
          return 0;
        }
        """,
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("signals")
    for name, text in PYTHON.items():
        (d / name).write_text(textwrap.dedent(text))
    if shutil.which("cc"):
        for name, text in C.items():
            (d / f"{name}.c").write_text(textwrap.dedent(text))
            subprocess.run(["cc", "-O1", "-o", str(d / name), str(d / f"{name}.c"), "-lpthread"], check=True)
    return d


def run_once(command: str) -> tuple[int, bytes]:
    proc = subprocess.run([sys.executable, "-m", "netsim.simrun", "--seed", "7", "--timeout", "60", command],
                          capture_output=True, timeout=DEADLINE)
    return proc.returncode, proc.stdout + b"\n--stderr--\n" + proc.stderr


def repeated(command: str) -> str:
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_once(command), range(RUNS)))
    status, first = results[0]
    assert status == 0, first.decode(errors="replace")
    for other in results[1:]:
        assert other == results[0]
    return first.decode()


def compiled(programs: Path, name: str) -> str:
    if not (programs / name).exists():
        pytest.skip("no C compiler")
    return str(programs / name)


def test_eventfd_with_select_and_a_thread(programs: Path) -> None:
    text = repeated(str(programs / "eventfd_select.py"))
    assert "read 1 at 100.5 ready True\n" in text and "read 3 at 101.5 ready True\n" in text
    assert "empty: EAGAIN" in text and "semaphore [1, 1, 1]" in text


def test_eventfd_with_epoll_in_c(programs: Path) -> None:
    text = repeated(compiled(programs, "eventfd_epoll"))
    assert "epoll 1 read 8 value 10\n" in text and "epoll 1 read 8 value 30\n" in text
    assert "drained: -1 Resource temporarily unavailable" in text
    assert "all ones: -1 Invalid argument" in text and "short: -1 Invalid argument" in text
    assert "to the ceiling: 8" in text and "past it: -1 Resource temporarily unavailable" in text
    assert "full: in 1 out 0" in text and "semaphore: 1 1" in text


def test_sigchld_handler_runs_when_the_child_ends(programs: Path) -> None:
    text = repeated(str(programs / "sigchld.py"))
    lines = [line for line in text.splitlines() if line.startswith("sigchld")]
    assert lines == [
        "sigchld: parent 1000 sleeps",
        "sigchld-2: child 1001 exits",
        "sigchld: SIGCHLD: child 1001 ended with 7",
        "sigchld: parent wakes at 103.0",
    ]


def test_sigchld_leaves_the_wait_for_that_child_alone(programs: Path) -> None:
    # The wait ends as it would have, then SIGCHLD arrives: the handler runs on the way
    # out of waitpid, before the program sees its result.
    text = repeated(compiled(programs, "sigchld_restart"))
    assert f"sigchld_restart: handler: signal {int(signal.SIGCHLD)}\n" \
           "sigchld_restart: waitpid: the child, status 3\n" in text


def test_process_groups_and_killpg(programs: Path) -> None:
    text = repeated(str(programs / "groups.py"))
    assert "groups: leader 1000 group 1000 session 1\n" in text
    assert "groups: groups [1000, 1002, 1003]\n" in text
    assert "groups: leader got SIGUSR1\n" in text
    assert "child 0 1001 pgid 1000 got SIGUSR1" in text
    assert "child 1 1002 pgid 1002 got SIGTERM" in text and "child 2 1003 pgid 1003 got SIGTERM" in text
    assert "reaped 1001 10" in text and "reaped 1003 12" in text
    assert "group gone: ESRCH" in text and "setsid: EPERM for a group leader" in text
