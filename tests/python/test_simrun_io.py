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


def same_every_time(*args, stdin=b""):
    """The transcript of RUNS runs, which must all be the same bytes."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simrun(*args, stdin=stdin), range(RUNS)))
    for run in runs:
        assert run.stderr == b"", run.stderr.decode()
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
