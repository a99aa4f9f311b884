"""Notebook support: Result._repr_html_ and the %netsim / %%netsim magics, in an
in-process IPython shell (tests/python/test_notebook.py runs a real kernel)."""

import socket
import subprocess
import sys
import time

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import get_ipython

import netsim
from netsim.ipython import split_line


@pytest.fixture(scope="module")
def ip():
    shell = get_ipython()
    shell.run_line_magic("load_ext", "netsim")
    return shell


def greet_server():
    with socket.create_server(("127.0.0.1", 5000)) as listener:
        conn, address = listener.accept()
        name = conn.recv(100).decode()
        print(f"<hello> & {name}")
        conn.sendall(f"hi {name}".encode())


def greet_client(name):
    time.sleep(1)
    with socket.create_connection(("127.0.0.1", 5000)) as sock:
        sock.sendall(name.encode())
        print("got", sock.recv(100))


def make_greet(seed=0):
    sim = netsim.Simulation(seed)
    sim.spawn("server", greet_server)
    sim.spawn("client", greet_client, args=("<b>bob</b>",))
    return sim


def test_html_colours_each_process_and_escapes_output(run_many):
    html = run_many(make_greet, times=5)._repr_html_()
    assert "<b>server</b>: &lt;hello&gt; &amp; &lt;b&gt;bob&lt;/b&gt;</span>" in html
    assert "<b>client</b>: got b&#x27;hi &lt;b&gt;bob&lt;/b&gt;&#x27;</span>" in html
    # Spawn order picks the colours: the server first.
    assert html.index("#1f77b4") < html.index("<b>server</b>")
    assert '<span style="color:#d62728"><b>client</b>: got' in html
    assert "2 processes, 1.000000 s virtual, exit status 0" in html
    assert "<b>bob</b>" not in html


def test_html_is_the_same_for_the_same_seed():
    assert len({make_greet(seed=4).run()._repr_html_() for _ in range(10)}) == 1


def test_html_of_awkward_output():
    def quiet():
        pass

    def odd():
        # \f and \x1c are line breaks to str.splitlines() but not to the transcript.
        print("a\fb\x1cc")
        sys.stdout.buffer.write(b"\xff\n")

    sim = netsim.Simulation()
    sim.spawn("web", odd)
    sim.spawn("web", odd)
    sim.spawn("quiet", quiet)
    html = sim.run()._repr_html_()
    assert "<b>web</b>: a\fb\x1cc</span>" in html
    assert "<b>web-2</b>: \\xff</span>" in html
    assert html.count("<b>web-2</b>: ") == 2
    assert "<b>quiet</b></span> (pid 1002): exit 0" in html

    empty = netsim.Simulation()
    empty.spawn("quiet", quiet)
    assert "<i>(no output)</i>" in empty.run()._repr_html_()


def test_cell_magic_defines_spawns_and_stores(ip):
    ip.user_ns["greet_server"] = greet_server
    cell = '''
def shout(name, times=1):
    greet_client(name.upper() * times)
'''
    ip.user_ns["greet_client"] = greet_client
    results = [ip.run_cell_magic("netsim", '--seed 3 --result r server=greet_server client=shout("a b", times=2)',
                                 cell) for _ in range(5)]
    assert len({r.transcript_bytes for r in results}) == 1
    assert results[0].transcript == "server: <hello> & A BA B\nclient: got b'hi A BA B'\n"
    assert ip.user_ns["r"] is results[-1]
    assert callable(ip.user_ns["shout"])


def test_line_magic_and_default_variable(ip):
    ip.user_ns.update(greet_server=greet_server, greet_client=greet_client)
    result = ip.run_line_magic("netsim", "server=greet_server client=greet_client('x') client=greet_client('y')")
    assert ip.user_ns["netsim_result"] is result
    assert "client: got b'hi x'" in result.transcript
    # The second client waits in connect until the server is done with the first.
    assert [p.name for p in result.processes] == ["server", "client", "client-2"]


def test_seed_and_policy_reach_the_simulation(ip):
    ip.user_ns.update(greet_server=greet_server, greet_client=greet_client)

    def trace(seed):
        line = f"--seed {seed} --policy random server=greet_server client=greet_client('z')"
        return ip.run_line_magic("netsim", line).trace_jsonl

    assert trace(1) == trace(1)
    assert len({trace(seed) for seed in range(4)}) > 1


def test_tracebacks_in_tasks_do_not_depend_on_the_kernel(ip):
    cell = '''
def broken():
    raise ValueError("nope")
'''
    first = ip.run_cell_magic("netsim", "b=broken", cell)
    second = ip.run_cell_magic("netsim", "b=broken", cell)
    assert first.transcript == second.transcript
    assert 'b:   File "<netsim-cell-' in first.transcript
    assert 'b:     raise ValueError("nope")' in first.transcript
    assert first.exit_status == 1


@pytest.mark.parametrize("line, message", [
    ("", "name at least one process"),
    ("--seed x a=f", "argument --seed: invalid int value: 'x'"),
    ("--seed -1 a=f", "seed must be a non-negative integer, not -1"),
    ("--policy fifo a=f", "invalid choice: 'fifo'"),
    ("--bogus a=f", "unrecognized arguments: --bogus"),
    ("a=missing_function", "a: name 'missing_function' is not defined"),
    ("a=f(", "unbalanced quotes or brackets"),
    ("a=f)x(", "a: cannot parse 'f)x('"),
    ("a=1", "a: 1 is not callable (its type is int)"),
    ("a:b=f", "bad process name 'a:b'"),
    ("justaname", "expected NAME=FUNC or NAME=FUNC(ARGS), not 'justaname'"),
    ("a=f(1/0)", "a: evaluating 'f(1/0)' raised ZeroDivisionError: division by zero"),
    ("--result 1x a=f", "--result needs a variable name, not '1x'"),
])
def test_usage_errors(ip, line, message):
    ip.user_ns["f"] = greet_server
    with pytest.raises(UsageError) as error:
        ip.run_line_magic("netsim", line)
    assert message in str(error.value)


def test_usage_errors_show_as_a_message(ip, capsys):
    ip.run_cell("%netsim a=missing_function")
    captured = capsys.readouterr()
    assert "UsageError: a: name 'missing_function' is not defined" in captured.err + captured.out
    assert "Traceback" not in captured.err + captured.out


def test_deadlock_shows_the_report_without_a_traceback(ip, capsys):
    result = ip.run_cell('''%%netsim s=stuck
import socket
def stuck():
    a, b = socket.socketpair()
    a.recv(1)
''')
    assert isinstance(result.error_in_exec, netsim.DeadlockError)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "DeadlockError: deadlock at 0.000000s: every task is blocked" in text
    assert "s (pid 1000, task 1): recv on fd" in text
    assert "Traceback" not in text


def test_help(ip, capsys):
    assert ip.run_line_magic("netsim", "--help") is None
    assert "NAME=FUNC[(ARGS)]" in capsys.readouterr().out


def test_split_line_keeps_arguments_together():
    assert split_line('--seed 1 a=f(b"x y", [1, 2]) b=g(\'it\\\'s )\')  c=h') == [
        "--seed", "1", 'a=f(b"x y", [1, 2])', "b=g('it\\'s )')", "c=h"]


def test_importing_netsim_does_not_import_ipython():
    code = "import sys, netsim; assert 'IPython' not in sys.modules; print(callable(netsim.load_ipython_extension))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "True\n"
