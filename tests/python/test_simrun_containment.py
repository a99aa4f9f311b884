"""Nothing escapes a simulation (docs/simrun.md, "Containment"): programs the shim
cannot reach are refused before they start; the holes a determined program could use
(the shim's own system call gate, io_uring, signals by real ids, the C-level
_socket.socket in-process) reach nothing real; the run's namespaces back the shim
up, and nothing outlives simrun, even when it is killed with SIGKILL."""
import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import netsim

RUNS = 5


def simrun(*args, cwd=None, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *args], capture_output=True,
                          cwd=cwd, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def same_every_time(*args, cwd=None):
    """The result of RUNS runs, whose transcripts and exit statuses must all agree."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simrun(*args, cwd=cwd), range(RUNS)))
    assert len({(run.stdout, run.returncode) for run in runs}) == 1, "runs differ"
    return runs[0]


def compile_c(tmp_path, source: str, name: str, *flags: str) -> str:
    path = tmp_path / f"{name}.c"
    path.write_text(textwrap.dedent(source))
    out = str(tmp_path / name)
    subprocess.run(["cc", "-O1", *flags, "-o", out, str(path)], check=True)
    return out


class RealServer:
    """A real TCP server on the host's loopback, outside any simulation: a
    connection that reached it waits in its accept queue (a loopback connect completes
    before it returns), so an empty queue afterwards proves nothing got through."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)

    def getsockname(self):
        return self.listener.getsockname()

    def reached(self) -> bool:
        try:
            self.listener.accept()[0].close()
            return True
        except BlockingIOError:
            return False


@pytest.fixture
def real_server():
    server = RealServer()
    yield server
    server.listener.close()


def test_the_server_check_sees_a_real_connection(real_server):
    """The check the tests below rely on does see a connection that gets through."""
    socket.create_connection(real_server.getsockname()).close()
    assert real_server.reached()
    assert not real_server.reached()


STATIC_C = """
    #include <arpa/inet.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/socket.h>
    int main(int argc, char** argv) {
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
      inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      printf("connect: %d\\n", connect(fd, (struct sockaddr*)&a, sizeof a));
      return 0;
    }
"""


def test_a_static_program_is_refused_before_it_starts(tmp_path, real_server):
    program = compile_c(tmp_path, STATIC_C, "static_client", "-static")
    port = str(real_server.getsockname()[1])
    run = simrun(f"{program} {port}")
    assert run.returncode == 2
    assert run.stdout == b""
    assert run.stderr.decode() == (
        f"simrun: cannot run '{program}': it is statically linked, and netsim's shim reaches "
        "dynamically linked programs only (link it dynamically: for C, without -static)\n")
    assert not real_server.reached()


def test_a_static_program_exec_ed_by_a_simulated_shell_is_refused(tmp_path, real_server):
    program = compile_c(tmp_path, STATIC_C, "static_client", "-static")
    port = str(real_server.getsockname()[1])
    run = same_every_time(f"sh -c '{program} {port}; echo status $?'")
    assert run.stdout.decode() == (
        # dash forks (sh-2), and the child's exec fails.
        f"sh-2: sh: 1: {program}: Function not implemented\n"
        "sh: status 126\n")
    assert run.stderr.decode() == (
        f"simrun: not simulated: sh-2: exec of {program} refused: it is statically linked, and netsim's "
        "shim reaches dynamically linked programs only (link it dynamically: for C, without -static) "
        "(the call failed with ENOSYS)\n")
    assert not real_server.reached()


GO_DIAL = """
package main

import (
\t"fmt"
\t"net"
\t"os"
)

func main() {
\tconn, err := net.Dial("tcp", os.Args[1])
\tif err != nil {
\t\tfmt.Println("dial error:", err)
\t\tos.Exit(1)
\t}
\tconn.Close()
\tfmt.Println("connected")
}
"""


@pytest.fixture(scope="module")
def go_programs(tmp_path_factory):
    """A Go client built static (CGO_ENABLED=0) and with cgo. scripts/deps installs
    Debian's golang-go; a machine without it must fail here, not skip."""
    go = shutil.which("go")
    assert go, "the Go toolchain is missing: run scripts/deps (Debian's golang-go)"
    where = tmp_path_factory.mktemp("go")
    (where / "main.go").write_text(GO_DIAL)
    env = dict(os.environ, GOCACHE=str(where / "cache"), GOPATH=str(where / "path"), GOFLAGS="-mod=mod",
               GO111MODULE="off")
    built = {}
    for kind, cgo in (("static", "0"), ("cgo", "1")):
        out = str(where / f"dial_{kind}")
        subprocess.run([go, "build", "-o", out, "main.go"], cwd=where, check=True,
                       env=dict(env, CGO_ENABLED=cgo), capture_output=True)
        built[kind] = out
    return built


@pytest.mark.parametrize("kind", ["static", "cgo"])
def test_a_go_program_is_refused_before_it_starts(go_programs, kind, real_server):
    host, port = real_server.getsockname()
    program = go_programs[kind]
    for _ in range(3):
        run = simrun(f"{program} {host}:{port}")
        assert run.returncode == 2
        assert run.stdout == b""
        assert run.stderr.decode() == (
            f"simrun: cannot run '{program}': it is a Go program, whose runtime makes system calls "
            "of its own that netsim does not simulate yet\n")
    assert not real_server.reached()
    # The refusal is about the program, not the network: natively it does connect.
    native = subprocess.run([program, f"{host}:{port}"], capture_output=True, timeout=60)
    assert native.stdout == b"connected\n"
    assert real_server.reached()


ESCAPES_C = r"""
    #define _GNU_SOURCE
    #include <arpa/inet.h>
    #include <dlfcn.h>
    #include <errno.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <sys/syscall.h>
    #include <unistd.h>

    /* The shim's gate: a syscall instruction at a fixed address, which its seccomp
       filter lets through. Jumped to directly, as a program that knows it could. */
    static long gate(long nr, long a0, long a1, long a2) {
      long ret;
      register long r10 __asm__("r10") = 0;
      __asm__ volatile("sub $128, %%rsp\n\tmovabsq $0x7f0000000000, %%r11\n\tcall *%%r11\n\tadd $128, %%rsp"
                       : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                       : "rcx", "r11", "memory");
      return ret;
    }

    int main(int argc, char** argv) {
      const int port = atoi(argv[1]);
      const pid_t victim = atoi(argv[2]);
      struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
      inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);

      printf("gate symbol: %s\n", dlsym(RTLD_DEFAULT, "netsim_raw_syscall") ? "found" : "hidden");
      long fd = gate(SYS_socket, AF_INET, SOCK_STREAM, 0);
      long r = gate(SYS_connect, fd, (long)&a, sizeof a);
      printf("connect through the gate: %s\n", r == 0 ? "connected" : strerror(-r));

      long uring = syscall(SYS_io_uring_setup, 8, calloc(1, 256));
      printf("io_uring_setup: %s\n", uring >= 0 ? "made" : strerror(errno));
      long uring_gate = gate(SYS_io_uring_setup, 8, (long)calloc(1, 256), 0);
      printf("io_uring_setup through the gate: %s\n", uring_gate >= 0 ? "made" : strerror(-uring_gate));

      printf("kill: %s\n", kill(victim, SIGUSR1) == 0 ? "sent" : strerror(errno));
      printf("tgkill: %s\n", syscall(SYS_tgkill, victim, victim, SIGUSR1) == 0 ? "sent" : strerror(errno));
      printf("tkill: %s\n", syscall(SYS_tkill, victim, SIGUSR1) == 0 ? "sent" : strerror(errno));
      printf("pidfd_open: %s\n", syscall(SYS_pidfd_open, victim, 0) >= 0 ? "opened" : strerror(errno));
      long g = gate(SYS_kill, victim, SIGUSR1, 0);
      printf("kill through the gate: %s\n", g == 0 ? "sent" : strerror(-g));
      return 0;
    }
"""


def test_the_gate_io_uring_and_signals_reach_nothing_real(tmp_path, real_server):
    program = compile_c(tmp_path, ESCAPES_C, "escapes")
    port = real_server.getsockname()[1]
    victim = subprocess.Popen(["sleep", "600"])
    try:
        run = same_every_time(f"{program} {port} {victim.pid}")
        assert run.stdout.decode() == (
            "escapes: gate symbol: hidden\n"
            # The run's network namespace has only a loopback that is down.
            "escapes: connect through the gate: Network is unreachable\n"
            "escapes: io_uring_setup: Function not implemented\n"
            "escapes: io_uring_setup through the gate: Function not implemented\n"
            "escapes: kill: No such process\n"
            "escapes: tgkill: No such process\n"
            "escapes: tkill: No such process\n"
            "escapes: pidfd_open: Function not implemented\n"
            # Its PID namespace holds the run's processes only.
            "escapes: kill through the gate: No such process\n")
        assert not real_server.reached()
        assert victim.poll() is None, "a simulated program signalled a real process"
    finally:
        victim.kill()
        victim.wait()


RAISE_C = r"""
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    static void on_usr1(int s) { (void)s; printf("handler ran\n"); }
    int main(int argc, char** argv) {
      setvbuf(stdout, NULL, _IONBF, 0);  /* as simrun makes it: nothing lost natively */
      signal(SIGUSR1, on_usr1);
      printf("raise(SIGUSR1): %d\n", raise(SIGUSR1));
      if (!strcmp(argv[1], "abort")) abort();
      if (!strcmp(argv[1], "term")) raise(SIGTERM);
      if (!strcmp(argv[1], "segv")) *(volatile int*)0 = 1;
      return 0;
    }
"""


@pytest.mark.parametrize("how, status, line", [
    ("abort", 134, "killed by SIGABRT (Aborted)"),
    ("term", 143, "killed by SIGTERM (Terminated)"),
    ("segv", 139, "killed by SIGSEGV (Segmentation fault)"),
])
def test_raise_and_abort_end_as_on_linux(tmp_path, how, status, line):
    """The statuses are Linux's: a shell gives 128 + the signal for each (checked
    natively below); the transcript names the signal, as a shell reports a job."""
    program = compile_c(tmp_path, RAISE_C, "raiser")
    native = subprocess.run([program, how], capture_output=True)
    assert native.returncode == -(status - 128)
    assert native.stdout == b"handler ran\nraise(SIGUSR1): 0\n"
    run = same_every_time(f"{program} {how}")
    assert run.returncode == status
    assert run.stdout.decode() == (
        "raiser: handler ran\n"
        "raiser: raise(SIGUSR1): 0\n"
        f"raiser: netsim: {line}\n")


def test_python_signals_to_itself_and_its_threads(tmp_path):
    """signal.raise_signal (raise: the thread's virtual id), pthread_kill of another
    thread (glibc names it by its real id) and os.kill of the own pid all arrive."""
    script = tmp_path / "selfsignal.py"
    script.write_text(textwrap.dedent("""\
        import os, signal, threading
        got = []
        signal.signal(signal.SIGUSR1, lambda *_: got.append("usr1"))
        signal.raise_signal(signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        ready, done = threading.Event(), threading.Event()
        def worker():
            ready.set()
            done.wait()
        t = threading.Thread(target=worker)
        t.start()
        ready.wait()
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.pthread_kill(t.ident, signal.SIGUSR2)
        done.set()
        t.join()
        print(got, "pthread_kill ok")
        os.abort()
    """))
    run = same_every_time(str(script))
    assert run.returncode == 134
    assert run.stdout.decode() == (
        "selfsignal: ['usr1', 'usr1'] pthread_kill ok\n"
        "selfsignal: netsim: killed by SIGABRT (Aborted)\n")


def test_clocks_start_above_zero_as_on_linux(tmp_path):
    script = tmp_path / "clocks.py"
    script.write_text("import time\nprint(time.monotonic(), time.clock_gettime(time.CLOCK_BOOTTIME))\n")
    run = same_every_time(str(script))
    assert run.stdout.decode() == "clocks: 100.0 100.0\n"


def test_in_process_the_c_level_socket_type_is_simulated_too(real_server):
    import _socket

    host, port = real_server.getsockname()

    def client():
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        try:
            s.connect((host, port))
            print("connected")
        except OSError as e:
            print("connect:", e.strerror)
        print(isinstance(s, _socket.socket), type(s).__name__)

    sim = netsim.Simulation(seed=1)
    sim.spawn("client", client)
    result = sim.run()
    # The simulated loopback, where nobody listens on that port.
    assert result.transcript == "client: connect: Connection refused\nclient: True SimSocket\n"
    assert not real_server.reached()
    # Outside a simulation the real type is back.
    assert _socket.socket.__module__ == "_socket" and type(_socket.socket) is type


def processes_tagged(tag: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if tag.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


MULTIPROCESSING = """\
import multiprocessing, os, sys, time

def work(marker):
    open(marker, "a").close()
    while True:
        time.sleep(1)

if __name__ == "__main__":
    workers = [multiprocessing.Process(target=work, args=(f"{sys.argv[1]}.{i}",)) for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""


def test_kill_9_of_simrun_leaves_no_process(tmp_path):
    """SIGKILL gives simrun no chance to clean up: the kernel does it, killing the
    run's PID namespace with its init. Each worker makes a file once it runs (a real
    file: the test waits for that, not for a time), then simrun is killed."""
    script = tmp_path / "workers.py"
    script.write_text(MULTIPROCESSING)
    for run in range(20):
        tag = f"NETSIM_TEST_TAG={uuid.uuid4().hex}"
        marker = tmp_path / f"marker{run}"
        env = dict(os.environ, NETSIM_TEST_TAG=tag.partition("=")[2])
        proc = subprocess.Popen([sys.executable, "-m", "netsim.simrun", "--timeout", "60", f"{script} {marker}"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: all(os.path.exists(f"{marker}.{i}") for i in range(3)), 60, "the workers")
            assert len(processes_tagged(tag)) >= 5  # simrun, the program, 3 workers
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        wait_for(lambda: not processes_tagged(tag), 10, f"the run's processes to die (run {run})")


def test_without_namespaces_a_run_goes_on_after_one_warning(tmp_path):
    """Where the host forbids namespaces (here: a user namespace whose limit on
    network namespaces is 0), simrun says so once and runs under the shim alone."""
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is missing")
    script = tmp_path / "hi.py"
    script.write_text("print('hi')\n")
    run = subprocess.run(
        ["unshare", "-U", "-r", "sh", "-c",
         f"echo 0 > /proc/sys/user/max_net_namespaces && exec {sys.executable} -m netsim.simrun {script}"],
        capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == b"hi: hi\n"
    assert run.stderr.decode() == (
        "simrun: warning: cannot make the run's namespaces (No space left on device): the shim alone "
        "keeps the programs off the real network, and a process a program forks may outlive simrun "
        "if simrun is killed with SIGKILL\n")
