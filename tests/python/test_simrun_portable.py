"""Portable, quiet transcripts (issue 10): the end of a run, the short forms of paths,
the fixed environment and simulated machine (in both modes), --epoch and the hint
for a certificate outside the virtual date, descriptors from 3, and the calls not
simulated, reported once on stderr. Each behaviour is run RUNS times and compared
byte for byte."""
from __future__ import annotations

import concurrent.futures
import datetime
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings

import pytest

import netsim

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")
RUNS = 20


def simrun(*args, cwd=EXAMPLES, env=None):
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *args], capture_output=True, cwd=cwd,
                          env=env, timeout=120)


def same_every_time(*args, cwd=EXAMPLES, stderr=b"", status=0):
    """The transcript of RUNS runs, which must all be the same bytes, each with this
    stderr and exit status."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simrun(*args, cwd=cwd), range(RUNS)))
    for run in runs:
        assert (run.returncode, run.stderr) == (status, stderr), run.stderr.decode()
    assert len({run.stdout for run in runs}) == 1, "transcripts differ between runs"
    return runs[0].stdout.decode()


# --- the end of a run ----------------------------------------------------------------

CLEANUP_SERVER = """\
import signal, socket, sys
def stop(signum, frame):
    print("cleaning up after", signal.Signals(signum).name)
    sys.exit(3)
signal.signal(signal.SIGTERM, stop)
with socket.create_server(("127.0.0.1", 9000)) as listener:
    print("listening")
    listener.accept()
"""

DEAF_SERVER = """\
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM")
while True:
    time.sleep(1)
"""


def test_a_server_still_running_is_stopped_with_sigterm_silently_and_named_once():
    transcript = same_every_time("--seed", "42", "echo_server.py", "echo_client.py")
    assert transcript.endswith("echo_server: waiting for a connection\n"
                               "echo_server: netsim: stopped by SIGTERM at the end of the run\n")
    assert "Traceback" not in transcript


def test_a_sigterm_handler_runs_after_the_stop_line(tmp_path):
    (tmp_path / "server.py").write_text(CLEANUP_SERVER)
    transcript = same_every_time("server.py", "python3 -c 'print(1)'", cwd=tmp_path)
    assert transcript == ("server: listening\n"
                          "python3: 1\n"
                          "server: netsim: stopped by SIGTERM at the end of the run\n"
                          "server: cleaning up after SIGTERM\n")
    report = netsim.run_commands([str(tmp_path / "server.py"), "python3 -c 'print(1)'"])
    assert [(p.name, p.status, p.stopped, p.outcome) for p in report.processes] == [
        ("server", 3, True, "stopped by SIGTERM at the end of the run, status 3"),
        ("python3", 0, False, "exited with status 0")]


def test_a_program_that_ignores_sigterm_is_killed_5_s_later(tmp_path):
    (tmp_path / "deaf.py").write_text(DEAF_SERVER)
    transcript = same_every_time("deaf.py", "python3 -c 'print(1)'", cwd=tmp_path)
    assert transcript == ("deaf: ignoring SIGTERM\n"
                          "python3: 1\n"
                          "deaf: netsim: stopped by SIGTERM at the end of the run\n"
                          "deaf: netsim: still running 5 s after SIGTERM: killed (SIGKILL)\n")


def test_stop_signal_int_shows_what_ctrl_c_would():
    transcript = same_every_time("--seed", "42", "--stop-signal", "INT", "echo_server.py", "echo_client.py")
    tail = transcript.split("echo_server: waiting for a connection\n")[-1]
    assert tail.startswith("echo_server: netsim: stopped by SIGINT at the end of the run\n"
                           "echo_server: Traceback (most recent call last):\n"
                           'echo_server:   File "echo_server.py", line 19, in <module>\n')
    assert tail.endswith("echo_server: KeyboardInterrupt\n")
    assert 'File "<stdlib>/socket.py"' in tail


@pytest.mark.parametrize("value", ["KILL", "SIGSTOP", "nope", "99"])
def test_a_bad_stop_signal_is_a_usage_error(value):
    run = simrun("--stop-signal", value, "echo_client.py")
    assert run.returncode == 2 and run.stdout == b""
    assert run.stderr.startswith(b"simrun: --stop-signal ") and run.stderr.count(b"\n") == 1, run.stderr


# --- paths ---------------------------------------------------------------------------

CRASH = """\
import json
json.loads("{")
"""


def test_tracebacks_show_paths_in_short_forms_and_raw_with_raw_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "crash.py").write_text(CRASH)
    transcript = same_every_time("sub/crash.py", cwd=tmp_path, status=1)
    assert 'crash:   File "sub/crash.py", line 2, in <module>\n' in transcript
    assert 'crash:   File "<stdlib>/json/__init__.py", line ' in transcript
    assert str(tmp_path) not in transcript and sysconfig.get_path("stdlib") not in transcript
    raw = simrun("--raw-paths", "sub/crash.py", cwd=tmp_path)
    assert f'File "{tmp_path}/sub/crash.py", line 2'.encode() in raw.stdout
    assert f'File "{sysconfig.get_path("stdlib")}/json/__init__.py"'.encode() in raw.stdout


# --- the environment and the machine, in both modes ----------------------------------

FACTS = """\
import os, platform, socket
print(os.uname())
print(socket.gethostname(), platform.node(), os.cpu_count(), sorted(os.sched_getaffinity(0)))
print(sorted({k: os.environ.get(k) for k in ("PYTHONHASHSEED", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME")}.items()))
print(os.environ.get("HOME", "") == os.environ["REAL_HOME"])
print(list({"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}))
"""

EXPECTED_FACTS = """\
facts: posix.uname_result(sysname='Linux', nodename='localhost', release='6.1.0-netsim', \
version='#1 SMP PREEMPT_DYNAMIC netsim', machine='x86_64')
facts: localhost localhost 4 [0, 1, 2, 3]
facts: [('LANG', 'C.UTF-8'), ('LC_ALL', 'C.UTF-8'), ('LOGNAME', 'netsim'), ('PYTHONHASHSEED', '43'), \
('TZ', 'UTC'), ('USER', 'netsim')]
facts: True
"""


def outer_env(**changes) -> dict[str, str]:
    return dict(os.environ, REAL_HOME=changes.get("HOME", os.environ.get("HOME", "")), **changes)


def test_programs_see_the_simulated_machine_and_environment_whatever_the_host(tmp_path):
    (tmp_path / "facts.py").write_text(FACTS)
    outputs = set()
    for env in (outer_env(), outer_env(PYTHONHASHSEED="1", USER="alice", LANG="C", TZ="Asia/Tokyo",
                                       HOME=str(tmp_path))):
        for _ in range(RUNS // 2):
            run = simrun("--seed", "42", "facts.py", "uname -a", "nproc", "hostname", cwd=tmp_path, env=env)
            assert (run.returncode, run.stderr) == (0, b""), run.stderr
            outputs.add(run.stdout)
    assert len(outputs) == 1
    out = outputs.pop().decode()
    assert out.startswith(EXPECTED_FACTS), out
    assert out.endswith("uname: Linux localhost 6.1.0-netsim #1 SMP PREEMPT_DYNAMIC netsim x86_64 GNU/Linux\n"
                        "nproc: 4\nhostname: localhost\n")


def test_in_process_tasks_see_the_same_machine(tmp_path):
    script = tmp_path / "facts.py"
    script.write_text(FACTS)
    os.environ["REAL_HOME"] = os.environ.get("HOME", "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", netsim.HashSeedWarning)
            result = netsim.run_scripts([script], seed=42)
    finally:
        del os.environ["REAL_HOME"]
    lines = result.transcript.splitlines(keepends=True)
    # The machine lines; the environment of an in-process task is the process's own.
    assert "".join(lines[:2]) == "".join(EXPECTED_FACTS.splitlines(keepends=True)[:2])


def test_an_in_process_run_warns_once_when_pythonhashseed_is_not_the_seeds(tmp_path):
    code = ("import warnings, netsim\n"
            "warnings.simplefilter('always')\n"
            "for _ in range(3):\n"
            "    netsim.Simulation(42)\n")
    wanted = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONHASHSEED="43"), timeout=60)
    assert wanted.returncode == 0 and "HashSeedWarning" not in wanted.stderr, wanted.stderr
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONHASHSEED="5"), timeout=60)
    assert other.returncode == 0
    assert other.stderr.count("HashSeedWarning") == 1, other.stderr
    assert "PYTHONHASHSEED is 5, and a simulation of seed 42 needs 43" in other.stderr


# --- time ----------------------------------------------------------------------------

CLOCK = "python3 -c 'import datetime; print(datetime.datetime.now(datetime.timezone.utc).isoformat())'"


@pytest.mark.parametrize("epoch, shown", [
    (None, "2024-01-01T00:00:00"),
    ("2026-12-03", "2026-12-03T00:00:00"),
    ("2026-12-03T09:30:00+01:00", "2026-12-03T08:30:00"),
    ("1780000000", "2026-05-28T20:26:40"),
])
def test_epoch_sets_the_virtual_date(epoch, shown):
    options = [] if epoch is None else ["--epoch", epoch]
    transcript = same_every_time(*options, CLOCK)
    assert transcript.startswith(f"python3: {shown}"), transcript
    assert netsim.Simulation(epoch=epoch) is not None


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1e300"])
def test_a_bad_epoch_is_a_usage_error(value):
    run = simrun("--epoch", value, CLOCK)
    assert run.returncode == 2 and run.stdout == b""
    assert run.stderr.startswith(b"simrun: --epoch ") and run.stderr.count(b"\n") == 1, run.stderr


def test_in_process_epoch_takes_the_same_dates():
    def show():
        import time
        print(time.strftime("%Y-%m-%d %H:%M:%S"))

    for epoch in ("2026-12-03T09:30:00Z", datetime.date(2026, 12, 3), 1_796_290_200):
        sim = netsim.Simulation(epoch=epoch)
        sim.spawn("clock", show)
        assert sim.run().transcript.startswith("clock: 2026-12-03"), epoch


@pytest.fixture(scope="module")
def host_certificate(tmp_path_factory):
    """A certificate made on the host, valid from now on, as a user makes one."""
    assert shutil.which("openssl"), "openssl is missing: run scripts/deps"
    directory = tmp_path_factory.mktemp("host-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout", key,
                    "-out", cert, "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


def tls_commands(cert: str, key: str) -> list[str]:
    return [f"tls_server.py {cert} {key}", f"tls_client.py {cert}"]


def test_a_certificate_made_today_works_with_epoch_now(host_certificate):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    transcript = same_every_time("--seed", "42", "--epoch", now, *tls_commands(*host_certificate))
    saved = open(os.path.join(EXAMPLES, "..", "simrun", "tls.transcript")).read()
    assert transcript == saved


def test_without_epoch_the_refused_certificate_is_explained(host_certificate):
    hint = (b"simrun: a TLS certificate was refused because it is not yet valid at the virtual date, "
            b"2024-01-01T00:00:00Z, where the run's clock started: start the clock inside the "
            b"certificate's validity, e.g. now for one made today: --epoch \"$(date -u +%FT%TZ)\"\n")
    transcript = same_every_time("--seed", "42", *tls_commands(*host_certificate), stderr=hint, status=1)
    assert "certificate is not yet valid" in transcript
    report = netsim.run_commands([os.path.join(EXAMPLES, c) for c in tls_commands(*host_certificate)], seed=42)
    assert report.hint == hint.decode()[len("simrun: "):-1]


# --- descriptors ---------------------------------------------------------------------

DESCRIPTORS = """\
import os, socket, subprocess
first = socket.socket()
log = open(__file__)
second = socket.socket()
print(first.fileno(), log.fileno(), second.fileno(), os.dup(1))
first.close()
print(socket.socket().fileno())
print(subprocess.run(["python3", "-c", "import os; print(os.open('/dev/null', 0))"],
                     capture_output=True, text=True).stdout.strip())
"""


def test_descriptors_start_at_3_as_on_linux(tmp_path):
    (tmp_path / "fds.py").write_text(DESCRIPTORS)
    transcript = same_every_time("fds.py", cwd=tmp_path)
    assert transcript == "fds: 3 4 5 6\nfds: 3\nfds: 3\n"
    assert subprocess.run([sys.executable, tmp_path / "fds.py"], capture_output=True,
                          text=True).stdout == "3 4 5 6\n3\n3\n"


def test_openssl_s_client_connects_on_descriptor_3(tmp_path):
    assert shutil.which("openssl"), "openssl is missing: run scripts/deps"
    make = ("openssl req -x509 -newkey rsa:2048 -nodes -days 365 -keyout key.pem -out cert.pem "
            "-subj /CN=localhost")
    assert simrun(make, cwd=tmp_path).returncode == 0
    transcript = same_every_time("openssl s_server -accept 4433 -cert cert.pem -key key.pem -quiet",
                                 "openssl s_client -connect localhost:4433", cwd=tmp_path)
    assert "openssl-2: CONNECTED(00000003)\n" in transcript


# --- calls not simulated -------------------------------------------------------------

UNSUPPORTED = """\
import socket
for _ in range(3):
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError as e:
        print(e.strerror)
"""


def test_a_call_not_simulated_is_reported_once_on_stderr_not_in_the_transcript(tmp_path):
    (tmp_path / "raw.py").write_text(UNSUPPORTED)
    note = b"simrun: not simulated: raw: socket(SOCK_RAW): raw sockets are not simulated (the call failed with ENOSYS)\n"
    transcript = same_every_time("raw.py", cwd=tmp_path, stderr=note)
    assert transcript == "raw: Function not implemented\n" * 3


INTERFACES = """\
import array, fcntl, socket, struct, sys
SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK = 0x8912, 0x8913, 0x8915, 0x891b
SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX = 0x8921, 0x8927, 0x8933
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def ask(request, name):
    return fcntl.ioctl(s, request, struct.pack("16s24x", name.encode()))

def describe(name):
    flags = struct.unpack_from("h", ask(SIOCGIFFLAGS, name), 16)[0]
    address = socket.inet_ntoa(ask(SIOCGIFADDR, name)[20:24])
    netmask = socket.inet_ntoa(ask(SIOCGIFNETMASK, name)[20:24])
    mtu = struct.unpack_from("i", ask(SIOCGIFMTU, name), 16)[0]
    family = struct.unpack_from("H", ask(SIOCGIFHWADDR, name), 16)[0]
    index = struct.unpack_from("i", ask(SIOCGIFINDEX, name), 16)[0]
    print(name, hex(flags), address, netmask, mtu, family, index)

describe("lo")
if sys.argv[1:] == ["all"]:
    describe("eth0")
    buffer = array.array("B", bytes(40 * 8))
    length = struct.unpack("i", fcntl.ioctl(s, SIOCGIFCONF, struct.pack("iL", len(buffer), buffer.buffer_info()[0]))[:4])[0]
    print("listed", [buffer.tobytes()[i:i + 16].rstrip(b"\\0").decode() for i in range(0, length, 40)])
    try:
        ask(SIOCGIFFLAGS, "wlan9")
    except OSError as e:
        print("wlan9", e.errno == __import__("errno").ENODEV)
"""


def test_interface_queries_describe_the_simulated_host_as_linux_describes_loopback(tmp_path):
    (tmp_path / "interfaces.py").write_text(INTERFACES)
    transcript = same_every_time("interfaces.py all", cwd=tmp_path)
    native = subprocess.run([sys.executable, "interfaces.py"], cwd=tmp_path, capture_output=True, text=True)
    assert native.returncode == 0, native.stderr
    # Loopback as this machine's Linux describes it; eth0 the simulated host's.
    assert transcript == (f"interfaces: {native.stdout}"
                          "interfaces: eth0 0x1043 10.0.0.1 255.255.255.0 1500 1 2\n"
                          "interfaces: listed ['lo', 'eth0']\n"
                          "interfaces: wlan9 True\n")


def test_in_process_a_certificate_refused_for_its_dates_carries_a_note(tmp_path):
    """In-process, OpenSSL reads the real clock: a certificate made under simrun (valid
    from the virtual date for a day) has expired by now, and the traceback says why."""
    make = ("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout key.pem -out cert.pem "
            "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1")
    assert simrun(make, cwd=tmp_path).returncode == 0
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", netsim.HashSeedWarning)
            sim = netsim.Simulation(42)
        sim.spawn_script(None, os.path.join(EXAMPLES, "tls_server.py"), [cert, key])
        sim.spawn_script(None, os.path.join(EXAMPLES, "tls_client.py"), [cert])
        return sim.run().transcript

    transcripts = {run() for _ in range(RUNS)}
    assert len(transcripts) == 1
    transcript = transcripts.pop()
    assert "certificate has expired" in transcript
    assert ("tls_client: netsim: in-process, OpenSSL checks a certificate's dates against the real clock, "
            "not the simulation's (2024-01-01T00:00:00Z)") in transcript
