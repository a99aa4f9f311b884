"""simrun beyond Python sockets: real C clients (curl, nc), a scripted stdin
(--stdin), and pipes, which are simulated objects too. Each run is repeated and
compared byte for byte."""
import concurrent.futures
import os
import shutil
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")
RUNS = 20


def simrun(*args, stdin=b"", cwd=EXAMPLES):
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *args], input=stdin,
                          capture_output=True, cwd=cwd, timeout=120)


def same_every_time(*args, stdin=b"", stderr=b""):
    """The transcript of RUNS runs, which must all be the same bytes, each with this
    stderr."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simrun(*args, stdin=stdin), range(RUNS)))
    for run in runs:
        assert run.stderr == stderr, run.stderr.decode()
    outputs = {run.stdout for run in runs}
    assert len(outputs) == 1, "transcripts differ between runs"
    return runs[0].stdout.decode()


@pytest.fixture(scope="module")
def tools():
    for tool in ("curl", "nc"):
        # scripts/deps installs both; a machine without them must fail, not skip.
        assert shutil.which(tool), f"{tool} is missing: run scripts/deps"


def test_curl_fetches_a_page_from_http_server(tools):
    transcript = same_every_time("--seed", "42", "python3 -m http.server -d site 8000",
                                 "curl -s http://localhost:8000/hello.txt")
    with open(os.path.join(EXAMPLES, "site", "hello.txt")) as f:
        page = f.read()
    assert "".join(f"curl: {line}\n" for line in page.splitlines()) in transcript
    assert '"GET /hello.txt HTTP/1.1" 200' in transcript


def test_nc_sends_its_scripted_stdin_to_the_echo_server(tools, tmp_path):
    message = tmp_path / "message.txt"
    message.write_bytes(b"hello from nc\nsecond line\n")
    transcript = same_every_time("--seed", "42", "--stdin", f"nc={message}", "echo_server.py",
                                 "nc -N localhost 10000")
    assert "nc: hello from nc\nnc: second line\n" in transcript
    assert "echo_server: received b'hello from nc\\nse'\n" in transcript


def test_stdin_dash_reads_simruns_own_stdin():
    transcript = same_every_time("--stdin", "cat=-", "cat", stdin=b"typed\nin\n")
    assert transcript == "cat: typed\ncat: in\n"


def test_without_stdin_a_program_reads_end_of_file_at_once():
    run = simrun("cat")
    assert (run.returncode, run.stdout) == (0, b"")


def test_stdin_for_an_unknown_name_is_a_usage_error(tmp_path):
    message = tmp_path / "m.txt"
    message.write_bytes(b"x")
    run = simrun("--stdin", f"client={message}", "cat")
    assert run.returncode == 2
    assert b"no command is named 'client'" in run.stderr


def test_a_pipe_between_threads_wakes_select_in_virtual_time(tmp_path):
    script = tmp_path / "pipes.py"
    script.write_text(
        "import os, select, threading, time\n"
        "r, w = os.pipe()\n"
        "def writer():\n"
        "    time.sleep(1)\n"
        "    os.write(w, b'through the pipe')\n"
        "    os.close(w)\n"
        "threading.Thread(target=writer).start()\n"
        "start = time.monotonic()\n"
        "ready, _, _ = select.select([r], [], [], 5)\n"
        "print('ready after', round(time.monotonic() - start, 3), ready == [r])\n"
        "print(os.read(r, 100), os.read(r, 100))\n")
    transcript = same_every_time(str(script))
    assert transcript == "pipes: ready after 1.0 True\npipes: b'through the pipe' b''\n"


ESCAPE_C = r"""
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};
  inet_pton(AF_INET, "93.184.216.34", &to.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int r = connect(fd, (struct sockaddr*)&to, sizeof to);
  printf("libc connect: %d %s\n", r, r ? strerror(errno) : "connected");
  long raw_fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  /* A simulated descriptor is held by a placeholder on /dev/null. */
  char path[64], target[64] = "";
  snprintf(path, sizeof path, "/proc/self/fd/%ld", raw_fd);
  readlink(path, target, sizeof target - 1);
  printf("raw socket %ld is simulated: %s\n", raw_fd, strcmp(target, "/dev/null") == 0 ? "yes" : "no");
  long raw = syscall(SYS_connect, raw_fd, &to, sizeof to);
  printf("raw connect: %ld %s\n", raw, raw ? strerror(errno) : "connected");
  int unix_fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  printf("unix seqpacket socket: %d %s\n", unix_fd, unix_fd < 0 ? strerror(errno) : "made");
  return 0;
}
"""


def test_a_c_program_cannot_reach_the_real_network(tmp_path):
    """libc's connect and a raw syscall(SYS_connect) that bypasses it both meet the
    simulated network, where nobody has that address; what the shim does not simulate
    says so on simrun's stderr instead of using the real kernel."""
    source = tmp_path / "escape.c"
    source.write_text(ESCAPE_C)
    subprocess.run(["cc", "-O1", "-o", str(tmp_path / "escape"), str(source)], check=True)
    transcript = same_every_time(str(tmp_path / "escape"), stderr=(
        b"simrun: not simulated: escape: socket(AF_UNIX, SOCK_SEQPACKET) is not simulated "
        b"(the call failed with ENOSYS)\n"))
    assert transcript == (
        "escape: libc connect: -1 Network is unreachable\n"
        "escape: raw socket 4 is simulated: yes\n"
        "escape: raw connect: -1 Network is unreachable\n"
        "escape: unix seqpacket socket: -1 Function not implemented\n")


def test_random_devices_and_getrandom_repeat_with_the_seed(tmp_path):
    script = tmp_path / "draws.py"
    script.write_text(
        "import os, random\n"
        "with open('/dev/urandom', 'rb') as f:\n"
        "    print(f.read(8).hex(), os.urandom(8).hex(), random.random())\n")
    first = same_every_time("--seed", "1", str(script))
    other = simrun("--seed", "2", str(script), cwd=tmp_path).stdout.decode()
    assert first.startswith("draws: ") and other.startswith("draws: ")
    assert first != other


# A library whose constructor draws random bytes, as OpenSSL's, libuuid's or a hash
# table's seeding do when loaded: before main(), and before the shim's constructor
# unless the shim's runs first.
SEEDING_LIBRARY_C = r"""
#include <stdio.h>
#include <sys/random.h>
__attribute__((constructor)) static void seed(void) {
  unsigned char bytes[8];
  ssize_t n = getrandom(bytes, sizeof bytes, 0);
  printf("constructor: getrandom %zd:", n);
  for (int i = 0; i < 8; i++) printf(" %02x", bytes[i]);
  printf("\n");
}
void seeded(void) {}
"""
SEEDED_PROGRAM_C = r"""
#include <stdio.h>
void seeded(void);
int main(void) { seeded(); printf("main\n"); return 0; }
"""


def test_a_library_constructor_gets_seeded_bytes_when_started_and_after_an_exec(tmp_path):
    """The program is started by simrun (its library's constructor runs before any
    trap is armed) and exec'ed by Python (its image inherits the seccomp filter, and
    the constructor's getrandom is trapped before the new image's shim could answer
    it): both draws come from the run's seed, and the exec'ed program lives."""
    assert shutil.which("cc"), "cc is missing: run scripts/deps"
    (tmp_path / "seeding.c").write_text(SEEDING_LIBRARY_C)
    (tmp_path / "seeded.c").write_text(SEEDED_PROGRAM_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp_path / "libseeding.so"), str(tmp_path / "seeding.c")],
                   check=True)
    program = tmp_path / "seeded"
    subprocess.run(["cc", "-o", str(program), str(tmp_path / "seeded.c"), f"-L{tmp_path}", "-lseeding",
                    f"-Wl,-rpath,{tmp_path}"], check=True)
    launcher = tmp_path / "launcher.py"
    launcher.write_text("import os, sys\nprint('exec', flush=True)\nos.execv(sys.argv[1], sys.argv[1:])\n")
    commands = (str(program), f"{launcher} {program}")
    transcript = same_every_time("--seed", "1", *commands)
    def of(name, lines):
        return [line.partition(": ")[2] for line in lines if line.startswith(f"{name}: ")]

    lines = transcript.splitlines()
    started, execed = of("seeded", lines), of("launcher", lines)
    assert [line[:25] for line in started] == ["constructor: getrandom 8:", "main"], transcript
    assert [line[:25] for line in execed] == ["exec", "constructor: getrandom 8:", "main"], transcript
    assert len(lines) == 5 and started[0] != execed[1]  # each process draws its own
    other = simrun("--seed", "2", *commands).stdout.decode().splitlines()
    assert (of("seeded", other)[0], of("launcher", other)[1]) != (started[0], execed[1])


def test_nc_listens_and_nc_connects_each_sending_its_stdin(tools, tmp_path):
    (tmp_path / "to_client.txt").write_bytes(b"reply from the listener\n")
    (tmp_path / "to_server.txt").write_bytes(b"hello listener\n")
    transcript = same_every_time("--stdin", f"nc={tmp_path / 'to_client.txt'}",
                                 "--stdin", f"nc-2={tmp_path / 'to_server.txt'}",
                                 "nc -N -l 10000", "nc -N localhost 10000")
    assert transcript == "nc: hello listener\nnc-2: reply from the listener\n"
