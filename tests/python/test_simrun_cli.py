"""simrun's command line (netsim.simrun): what it accepts and refuses, the names it
gives, and, through the engine, runs of real programs compared byte for byte.

The first part needs no engine: simrun.main() returns before anything runs. The
second part ("Runs") starts `python -m netsim.simrun` as a real command, from the
repository root, on the examples in examples/python."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

import netsim
from netsim import simrun

REPO = Path(__file__).resolve().parents[2]
ECHO = ["examples/python/echo_server.py", "examples/python/echo_client.py"]


@pytest.fixture
def at_repo(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture
def some_shim(monkeypatch, tmp_path):
    """A file where simrun looks for the shim, so that the checks that come after
    that one are reached without a built shim."""
    shim = tmp_path / "libnetsim_shim.so"
    shim.write_bytes(b"")
    monkeypatch.setenv("NETSIM_SHIM", str(shim))


def usage_error(capsys, *argv: str) -> str:
    """Runs simrun with argv, which must be refused; returns its one-line message."""
    assert simrun.main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("simrun: ") and err.count("\n") == 1, err
    return err


def fake_program(directory: Path, name: str, text: str = "echo wrapper\n") -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path


# --- --help ---------------------------------------------------------------------


def test_help_shows_usage_examples_and_exit_statuses(capsys):
    with pytest.raises(SystemExit) as exit:
        simrun.main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: simrun [options] COMMAND [COMMAND ...]\n")
    for example in ("simrun --seed 42 server.py client.py",
                    'simrun "python3 -m http.server -d site 8000" client.py',
                    "simrun --check echo.transcript echo_server.py echo_client.py"):
        assert f"\n  {example}\n" in text
    for option in ("--seed N", "-o FILE", "--check FILE", "--trace FILE", "--timeout SECONDS",
                   "--strict", "--name OLD=NEW"):
        assert option in text
    for status in ("\n  1 ", "\n  2 ", "\n  124 ", "\n  130 "):
        assert status in text
    assert "NETSIM_SHIM" in text


def test_help_through_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "netsim.simrun", "--help"], capture_output=True, check=True)
    assert out.stdout.startswith(b"usage: simrun ")


def test_installed_as_the_simrun_command():
    """Not a console script: the launcher (tests/python/test_simrun_launcher.py)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "scripts" not in project
    assert Path(sys.executable).with_name("simrun").read_bytes()[:4] == b"\x7fELF"


# --- usage errors: one line, exit status 2 --------------------------------------


def test_no_command(capsys):
    assert "no command given" in usage_error(capsys)
    assert "no command given" in usage_error(capsys, "--seed", "3")


@pytest.mark.parametrize("seed", ["-1", "x", "1.5", "", " 1", "18446744073709551616"])
def test_bad_seed(capsys, at_repo, seed):
    err = usage_error(capsys, "--seed", seed, *ECHO)
    assert f"--seed takes a non-negative integer below 2**64, not {seed!r}" in err


def test_largest_seed_is_accepted():
    assert simrun._parse_seed(str(2**64 - 1)) == 2**64 - 1


@pytest.mark.parametrize("timeout", ["0", "-1", "x", "nan", "inf"])
def test_bad_timeout(capsys, at_repo, timeout):
    assert "--timeout takes a positive number of seconds" in usage_error(capsys, "--timeout", timeout, *ECHO)


def test_unknown_option(capsys, at_repo):
    assert usage_error(capsys, "--sed", "1", *ECHO) == "simrun: unknown option --sed; see simrun --help\n"
    # No abbreviations: a later option must not change what an old command line means.
    assert "unknown option --see" in usage_error(capsys, "--see", "1", *ECHO)


def test_option_without_its_value(capsys, at_repo):
    assert "--seed: expected one argument" in usage_error(capsys, *ECHO, "--seed")


def test_missing_script(capsys, at_repo):
    err = usage_error(capsys, "examples/python/echo_server.py", "examples/python/nope.py")
    assert "no such file: examples/python/nope.py (command 2: 'examples/python/nope.py')" in err


def test_missing_script_of_a_python_command_line(capsys, at_repo):
    assert "no such file: nope.py" in usage_error(capsys, "python3 -u nope.py")


def test_program_not_on_path(capsys, at_repo):
    err = usage_error(capsys, "examples/python/echo_server.py", "no-such-program-xyz --flag")
    assert "no-such-program-xyz: not found on PATH" in err
    assert "install it or give its path" in err


def test_program_path_that_is_missing_or_not_executable(capsys, tmp_path):
    assert f"no such program: {tmp_path}/missing" in usage_error(capsys, f"{tmp_path}/missing")
    plain = tmp_path / "plain"
    plain.write_text("not a program\n")
    assert f"no such program: {plain}" in usage_error(capsys, str(plain))


@pytest.mark.parametrize("command", ["", "   "])
def test_empty_command(capsys, at_repo, command):
    assert "empty command (command 2:" in usage_error(capsys, ECHO[0], command)


def test_unbalanced_quotes(capsys):
    assert "check its quotes" in usage_error(capsys, "python3 -c 'print(1)")


def test_missing_shim(capsys, monkeypatch, at_repo, tmp_path):
    monkeypatch.setenv("NETSIM_SHIM", str(tmp_path / "gone.so"))
    err = usage_error(capsys, *ECHO)
    assert f"the shim library {tmp_path}/gone.so is missing" in err
    assert "NETSIM_SHIM" in err


def test_shim_is_found_next_to_the_core(monkeypatch):
    monkeypatch.delenv("NETSIM_SHIM", raising=False)
    expected = os.path.join(os.path.dirname(netsim.__file__), "libnetsim_shim.so")
    if os.path.isfile(expected):
        assert simrun.shim_path() == expected
    else:
        with pytest.raises(FileNotFoundError, match="reinstall netsim"):
            simrun.shim_path()


def test_check_file_that_cannot_be_read(capsys, at_repo, some_shim, tmp_path):
    err = usage_error(capsys, "--check", str(tmp_path / "none.transcript"), *ECHO)
    assert f"cannot read --check {tmp_path}/none.transcript" in err


@pytest.mark.parametrize("option", ["-o", "--trace"])
def test_output_that_cannot_be_written(capsys, at_repo, some_shim, tmp_path, option):
    err = usage_error(capsys, option, str(tmp_path / "no" / "dir.transcript"), *ECHO)
    assert f"cannot write {option} {tmp_path}/no/dir.transcript: No such file or directory" in err


# --- names ----------------------------------------------------------------------


def names(*commands: str, renames: dict[str, str] | None = None) -> list[str]:
    return [name for name, _ in simrun.plan(list(commands), renames)]


def test_names_from_scripts_modules_and_programs(at_repo):
    assert names(*ECHO) == ["echo_server", "echo_client"]
    assert names("python3 -m http.server -d examples/python/site 8000") == ["server"]
    assert names("python -m json.tool") == ["tool"]
    assert names("python3 -mhttp.server") == ["server"]
    assert names("python3 -um http.server") == ["server"]
    assert names("python3 -W error -X dev examples/python/echo_client.py") == ["echo_client"]
    assert names("python3 --check-hash-based-pycs always examples/python/echo_client.py") == ["echo_client"]
    assert names("python3 -c 'print(1)'", "python3", "python3 -") == ["python3", "python3-2", "python3-3"]
    assert names("ls -l", "/bin/ls") == ["ls", "ls-2"]


def test_repeated_names_are_numbered_as_the_core_numbers_them(at_repo, tmp_path):
    client = "examples/python/echo_client.py"
    assert names(ECHO[0], client, client, client) == ["echo_server", "echo_client", "echo_client-2",
                                                      "echo_client-3"]
    # "a-2" is taken by a script of that name, so the second "a" becomes "a-3".
    for stem in ("a", "a-2"):
        (tmp_path / f"{stem}.py").write_text("")
    a, a2 = str(tmp_path / "a.py"), str(tmp_path / "a-2.py")
    assert names(a, a2, a) == ["a", "a-2", "a-3"]


def test_a_script_path_with_spaces(tmp_path):
    script = tmp_path / "my server.py"
    script.write_text("")
    # A name is one word: the space becomes "_" (only the file's path keeps it).
    assert simrun.plan([str(script)]) == [("my_server", [sys.executable, str(script)])]


def test_a_script_with_arguments(at_repo):
    assert simrun.plan(["examples/python/select_client.py 'select is neat'"]) == [
        ("select_client", [sys.executable, "examples/python/select_client.py", "select is neat"])]


def test_argv_lists_from_python(at_repo):
    assert simrun.plan([["ls", "-l", "a b"], [ECHO[1]]]) == [
        ("ls", ["ls", "-l", "a b"]), ("echo_client", [sys.executable, ECHO[1]])]


def test_rename(at_repo):
    client = "examples/python/echo_client.py"
    assert names(ECHO[0], client, client, renames={"echo_server": "S", "echo_client-2": "late"}) == [
        "S", "echo_client", "late"]
    # A new name that is taken already would show two commands as one.
    with pytest.raises(simrun.UsageError, match="two commands would both be shown as 'echo_server'"):
        names(ECHO[0], client, renames={"echo_client": "echo_server"})


def test_rename_errors(capsys, at_repo):
    err = usage_error(capsys, "--name", "server=S", *ECHO)
    assert "--name server=S: no command is named 'server'; the names are echo_server, echo_client" in err
    assert "--name takes OLD=NEW" in usage_error(capsys, "--name", "server", *ECHO)
    assert "--name takes OLD=NEW" in usage_error(capsys, "--name", "=S", *ECHO)
    assert "a name is one word" in usage_error(capsys, "--name", "echo_server=", *ECHO)
    assert "a name is one word" in usage_error(capsys, "--name", "echo_server=a b", *ECHO)
    assert "a name is one word" in usage_error(capsys, "--name", "echo_server=a:b", *ECHO)
    err = usage_error(capsys, "--name", "echo_server=a", "--name", "echo_server=b", *ECHO)
    assert "--name echo_server=...: given twice" in err


# --- which Python runs ----------------------------------------------------------


@pytest.mark.parametrize("program", ["python", "python3", "python3.11", "python3.13"])
def test_python_runs_with_simruns_interpreter_not_the_one_on_path(monkeypatch, tmp_path, program):
    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, program)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert simrun.plan([f"{program} -m http.server 8000"]) == [
        ("server", [sys.executable, "-m", "http.server", "8000"])]


def test_other_programs_and_explicit_paths_are_run_as_given(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, "tool")
    fake_program(bin_dir, "python3k")
    python = fake_program(bin_dir, "python3")
    monkeypatch.setenv("PATH", str(bin_dir))
    # argv[0] stays as typed: the engine finds it on PATH, and the program prints
    # the same name wherever it is installed.
    assert simrun.plan(["tool --flag", "python3k", f"{python} x.py"]) == [
        ("tool", ["tool", "--flag"]), ("python3k", ["python3k"]), ("python3", [str(python), "x.py"])]


def test_python_api_checks_its_seed():
    for seed in (-1, 1.0, True, "1", 2**64):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            netsim.run_commands(["x.py"], seed=seed)


def test_python_api_reports_bad_commands_as_value_errors(at_repo):
    with pytest.raises(ValueError, match="no such file: nope.py"):
        netsim.run_commands(["nope.py"])
    with pytest.raises(simrun.UsageError, match="no command is named 'x'"):
        netsim.run_commands(ECHO, names={"x": "y"})


# --- Runs (need the engine: shim/runner and shim/preload) -----------------------


def run_simrun(*argv: str, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *argv], cwd=REPO, capture_output=True,
                          env=env, timeout=timeout)


def script(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def test_echo_twice_gives_the_same_bytes():
    first = run_simrun("--seed", "42", *ECHO)
    assert first.returncode == 0, first.stderr
    assert first.stderr == b""
    lines = first.stdout.decode().splitlines()
    assert lines[0] == "echo_server: starting up on localhost port 10000"
    assert [line for line in lines if line.startswith("echo_client: received")] == [
        "echo_client: received b'This is the mess'",
        "echo_client: received b'age.  It will be'",
        "echo_client: received b' repeated.'",
    ]
    assert "echo_client: closing socket" in lines
    second = run_simrun("--seed", "42", *ECHO)
    assert second.returncode == 0
    assert second.stdout == first.stdout


def test_check_passes_on_the_same_transcript_and_shows_a_diff_otherwise(tmp_path):
    saved = tmp_path / "echo.transcript"
    made = run_simrun("-o", str(saved), *ECHO)
    assert made.returncode == 0, made.stderr
    assert made.stdout == b""  # -o: the transcript goes to the file instead
    assert saved.read_bytes() == run_simrun(*ECHO).stdout

    same = run_simrun("--check", str(saved), *ECHO)
    assert (same.returncode, same.stdout, same.stderr) == (0, b"", b"")

    text = saved.read_bytes()
    saved.write_bytes(text.replace(b"closing socket", b"closing the socket"))
    changed = run_simrun("--check", str(saved), *ECHO)
    assert changed.returncode == 1
    assert changed.stdout.startswith(f"--- {saved}\n+++ this run\n@@ ".encode())
    assert b"\n-echo_client: closing the socket\n+echo_client: closing socket\n" in changed.stdout
    assert changed.stderr == f"simrun: the transcript differs from {saved} (the diff is on stdout)\n".encode()


def test_trace_is_json_lines(tmp_path):
    trace = tmp_path / "trace.jsonl"
    done = run_simrun("--trace", str(trace), *ECHO)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert events and all("event" in e for e in events)
    assert {"spawn", "connect", "accept", "send", "recv"} <= {e["event"] for e in events}
    again = tmp_path / "again.jsonl"
    run_simrun("--trace", str(again), *ECHO)
    assert again.read_bytes() == trace.read_bytes()


def test_exit_status_is_the_last_commands(tmp_path):
    fails = script(tmp_path, "fails.py", "raise SystemExit(3)\n")
    ok = script(tmp_path, "ok.py", "print('ok')\n")
    assert run_simrun(ok, fails).returncode == 3
    assert run_simrun(fails, ok).returncode == 0


def test_strict_fails_on_any_failure_but_not_on_servers_stopped_at_the_end(tmp_path):
    fails = script(tmp_path, "fails.py", "raise SystemExit(3)\n")
    ok = script(tmp_path, "ok.py", "print('ok')\n")
    strict = run_simrun("--strict", fails, ok)
    assert strict.returncode == 1
    assert strict.stderr.startswith(b"simrun: --strict: failed: fails (")
    assert strict.stdout == b"ok: ok\n"
    echo = run_simrun("--strict", *ECHO)  # the server is still in accept() at the end
    assert (echo.returncode, echo.stderr) == (0, b""), echo.stderr


def test_output_bytes_are_kept_exactly(tmp_path):
    raw = script(tmp_path, "raw.py", r"""
        import sys
        sys.stdout.buffer.write(b"\xff\xfe not utf-8\n")
        sys.stdout.buffer.write(b"no newline at the end")
    """)
    done = run_simrun(raw)
    assert done.returncode == 0, done.stderr
    # The core ends a partial line when its process exits.
    assert done.stdout == b"raw: \xff\xfe not utf-8\nraw: no newline at the end\n"


def test_python_on_path_is_not_used(tmp_path):
    fake_program(tmp_path / "bin", "python3", "echo wrapper; exit 9\n")
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = run_simrun("--raw-paths", "python3 -c 'import sys; print(sys.executable)'", env=env)
    assert (done.returncode, done.stdout) == (0, f"python3: {sys.executable}\n".encode()), done.stderr


def test_deadlock_is_reported(tmp_path):
    server = script(tmp_path, "server.py", """
        import socket
        with socket.create_server(("127.0.0.1", 10000)) as listener:
            conn, _ = listener.accept()
            conn.recv(10)
    """)
    client = script(tmp_path, "client.py", """
        import socket
        with socket.create_connection(("127.0.0.1", 10000)) as sock:
            sock.recv(10)
    """)
    done = run_simrun(server, client)
    assert done.returncode == 1
    assert done.stderr.startswith(b"simrun: ")
    assert b"deadlock" in done.stderr


def test_watchdog(tmp_path):
    spin = script(tmp_path, "spin.py", "while True:\n    pass\n")
    started = time.monotonic()
    done = run_simrun("--timeout", "1", spin)
    assert done.returncode == 124
    assert done.stderr.startswith(b"simrun: ")
    assert time.monotonic() - started < 30


def test_interrupted(tmp_path):
    spin = script(tmp_path, "spin.py", "print('spinning', flush=True)\nwhile True:\n    pass\n")
    process = subprocess.Popen([sys.executable, "-m", "netsim.simrun", spin], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out.startswith(b"spin: spinning\n")


def test_python_api(at_repo):
    first = netsim.run_commands(ECHO, seed=42, names={"echo_client": "client"})
    second = netsim.run_commands(ECHO, seed=42, names={"echo_client": "client"})
    assert first.transcript_bytes == second.transcript_bytes
    assert "client: received b'This is the mess'" in str(first)
    assert first.exit_status == 0 and not (first.deadlock or first.timed_out or first.interrupted)
    assert [(p.name, p.pid) for p in first.processes] == [("echo_server", 1000), ("client", 1001)]
    assert first.processes[1].outcome == "exited with status 0"
