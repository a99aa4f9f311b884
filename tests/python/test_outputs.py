"""simrun's and Result's other outputs: --format (text, markdown, html, json),
--timestamps, colour on a terminal, --diagram (Mermaid, SVG, HTML) and --pcap, read
back by the tools people use on them: tshark for the capture, headless Chromium for
the HTML. Each output is byte-identical over 20 runs."""

from __future__ import annotations

import json
import os
import pickle
import pty
import re
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import netsim
from netsim import _diagram, simrun

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"
ECHO = [str(EXAMPLES / "echo_server.py"), str(EXAMPLES / "echo_client.py")]
HTTP = [f"python3 -m http.server -d {EXAMPLES / 'site'} 8000", str(EXAMPLES / "http_client.py")]
ECHO_MESSAGE = b"This is the message.  It will be repeated."
DEADLINE = 120  # wall-clock seconds: only a hang reaches it
RUNS = 20


def run_simrun(*argv: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *argv], capture_output=True,
                          timeout=DEADLINE, env=env, **kwargs)


def tool(name: str) -> str:
    """The path of a tool scripts/deps installs; its absence fails, never skips."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/deps"
    return path


# --- in-process: every format of a small run ------------------------------------


def echo_pair(seed: int = 7) -> netsim.Simulation:
    def serve():
        with socket.create_server(("127.0.0.1", 7000)) as listener:
            conn, _ = listener.accept()
            with conn:
                print("server got", conn.recv(100))
                conn.sendall(b"<pong> & done")

    def ask():
        with socket.create_connection(("127.0.0.1", 7000)) as sock:
            sock.sendall(b"<ping>")
            print("client got", sock.recv(100))
            print("to stderr", file=sys.stderr)

    sim = netsim.Simulation(seed)
    sim.spawn("server", serve)
    sim.spawn("client", ask)
    return sim


def every_output(result) -> dict[str, bytes]:
    outputs = {f"{fmt}{'+t' if stamps else ''}": result.formatted(fmt, timestamps=stamps)
               for fmt in ("text", "markdown", "html", "json") for stamps in (False, True)}
    outputs.update({f"diagram-{kind}": result.diagram(kind).encode()
                    for kind in ("mermaid", "markdown", "svg", "html")})
    outputs["pcap"] = result.pcap()
    outputs["notebook"] = result._repr_html_().encode()
    return outputs


def test_every_output_is_the_same_over_20_runs():
    first = every_output(echo_pair().run())
    for _ in range(RUNS - 1):
        assert every_output(echo_pair().run()) == first
    # A run that differs (another seed moves the client's port) shows it.
    assert every_output(echo_pair(seed=8).run())["pcap"] != first["pcap"]


def test_text_is_the_transcript_and_timestamps_are_virtual_times():
    result = echo_pair().run()
    assert result.formatted("text") == result.transcript_bytes
    stamped = result.formatted("text", timestamps=True).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == result.transcript.splitlines()
    times = [float(line.split(" ", 1)[0]) for line in stamped]
    assert times == sorted(times) and all(re.fullmatch(r"\d+\.\d{6}", line.split(" ")[0]) for line in stamped)


def test_json_lines_carry_name_stream_time_and_text():
    result = echo_pair().run()
    records = [json.loads(line) for line in result.formatted("json").decode().splitlines()]
    assert [(r["name"], r["stream"], r["text"]) for r in records] == [
        ("server", "stdout", "server got b'<ping>'"),
        ("client", "stdout", "client got b'<pong> & done'"),
        ("client", "stderr", "to stderr"),
    ]
    assert all(isinstance(r["time"], float) for r in records)


def test_markdown_fences_any_backticks_in_the_output():
    def noisy():
        print("```python")
        print("````")

    sim = netsim.Simulation()
    sim.spawn("md", noisy)
    out = sim.run().formatted("markdown").decode()
    assert out == "`````text\nmd: ```python\nmd: ````\n`````\n"


def test_html_escapes_marks_stderr_and_is_a_whole_page():
    page = echo_pair().run().formatted("html").decode()
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<b>client</b>: client got b&#x27;&lt;pong&gt; &amp; done&#x27;</span>" in page
    assert 'class="netsim-stderr"><b>client</b>: to stderr' in page
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_bad_format_arguments_say_what_to_give():
    result = echo_pair().run()
    with pytest.raises(ValueError, match="format must be one of text, markdown, html, json, not 'xml'"):
        result.formatted("xml")
    with pytest.raises(ValueError, match="a diagram is one of html, markdown, mermaid, svg, not 'png'"):
        result.diagram("png")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        result.diagram(limit=0)


def test_mermaid_diagram_shows_the_conversation():
    text = echo_pair().run().diagram()
    assert text.splitlines()[:3] == ["sequenceDiagram", "    participant p1000 as server",
                                     "    participant p1001 as client"]
    body = text.splitlines()[3:]
    assert body[0].startswith("    p1001-->>p1000: connect 127.0.0.1:7000")
    # Mermaid's own entities for what it would parse.
    assert '    p1001->>p1000: "#lt;ping#gt;" (6 B)' in body
    assert '    p1000->>p1001: "#lt;pong#gt; & done" (13 B)' in body
    assert body.count("    p1000-->>p1001: FIN") == 1 and body.count("    p1001-->>p1000: FIN") == 1
    assert "    Note over p1001: exit 0" in body


def test_a_large_run_is_summarised():
    def chatty():
        with socket.create_server(("127.0.0.1", 9)) as listener:
            conn, _ = listener.accept()
            while conn.recv(1):
                pass

    def sender():
        with socket.create_connection(("127.0.0.1", 9)) as sock:
            for i in range(300):
                sock.sendall(b"tick")  # the same message, back to back
            for i in range(50):
                sock.sendall(b"%d" % i)
            sock.sendall(b"x" * 1000)

    sim = netsim.Simulation()
    sim.spawn("chatty", chatty)
    sim.spawn("sender", sender)
    result = sim.run()
    text = result.diagram(limit=20)
    assert '"tick" (4 B) ×300' in text
    assert text.count("\n") < 30
    assert re.search(r"Note over p1000,p1001: \d+ more messages not shown", text)
    assert '"xxxxxxxxxxxxxxxxxxxxxxxx…" (1000 B)' in result.diagram()
    assert "more messages not shown" in result.diagram("svg", limit=20)


def test_unknown_event_kinds_become_notes():
    events = [{"seq": 1, "t": 0, "event": "spawn", "pid": 1000, "text": "a"},
              {"seq": 2, "t": 5, "event": "link_down", "text": "hosts a and b\nmore"},
              {"seq": 3, "t": 6, "event": "partition"}]
    diagram = _diagram.build(events)
    text = _diagram.mermaid(diagram)
    assert "Note over a0: link_down: hosts a and b" in text
    assert "Note over a0: partition" in text
    assert "link_down: hosts a and b" in _diagram.svg(diagram)


def test_the_notebook_shows_the_transcript_and_the_diagram():
    html = echo_pair().run()._repr_html_()
    assert html.index("netsim-transcript") < html.index("netsim-summary") < html.index("<svg")
    markdown = echo_pair().run()._repr_markdown_()
    assert markdown.startswith("```text\nserver: server got")


# --- simrun: the options ----------------------------------------------------------


def test_simrun_writes_every_output_the_same_over_20_runs(tmp_path):
    def one(i: int) -> list[bytes]:
        d = tmp_path / str(i)
        d.mkdir()
        done = run_simrun("--seed", "42", "--format", "html", "--timestamps", "-o", str(d / "t.html"),
                          "--diagram", str(d / "d.md"), "--pcap", str(d / "p.pcap"), *ECHO)
        assert done.returncode == 0, done.stderr
        return [(d / name).read_bytes() for name in ("t.html", "d.md", "p.pcap")]

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(one, range(RUNS)))
    assert all(run == runs[0] for run in runs)
    html, mermaid, pcap = runs[0]
    assert b"<b>echo_client</b>: sending b&#x27;This is the message." in html
    assert mermaid.startswith(b"```mermaid\nsequenceDiagram\n")
    assert pcap[:4] == struct.pack("<I", 0xA1B23C4D)


def test_run_commands_reports_give_every_output_the_same_over_20_runs():
    first = every_output(netsim.run_commands(ECHO, seed=42))
    for _ in range(RUNS - 1):
        assert every_output(netsim.run_commands(ECHO, seed=42)) == first
    assert first["text"] == netsim.run_commands(ECHO, seed=42).transcript_bytes
    assert b'echo_client-->>echo_server' not in first["diagram-mermaid"]  # ids, not names
    assert b"p1001-->>p1000: connect 127.0.0.1:10000" in first["diagram-mermaid"]


def test_a_pickled_report_keeps_its_outputs_but_not_its_trace():
    report = netsim.run_commands(ECHO, seed=42)
    lines = report.lines
    copy = pickle.loads(pickle.dumps(report))
    assert copy.transcript_bytes == report.transcript_bytes and copy.lines == lines
    with pytest.raises(RuntimeError, match="this report has no trace: it was made in another process"):
        copy.pcap()


def test_a_report_is_read_only_and_equal_by_its_fields_not_its_trace():
    fields = dict(transcript_bytes=b"a: x\n", exit_status=0,
                  processes=[simrun.ProcessReport("a", 1000, 0, "exited with status 0", False)],
                  problem="", deadlock=False, timed_out=False, interrupted=False)
    report = simrun.RunReport(**fields, _trace=object())
    assert report == simrun.RunReport(**fields) == simrun.RunReport(**fields, hint="")
    assert report != simrun.RunReport(**{**fields, "exit_status": 1})
    for change in (lambda: setattr(report, "exit_status", 1), lambda: delattr(report, "problem")):
        with pytest.raises(AttributeError, match="a RunReport is read-only"):
            change()
    assert repr(report).startswith("RunReport(transcript_bytes=b'a: x\\n', exit_status=0, processes=[ProcessReport(")
    assert "_trace" not in repr(report)
    assert pickle.loads(pickle.dumps(report)) == report


def test_format_json_and_check(tmp_path):
    saved = tmp_path / "echo.jsonl"
    assert run_simrun("--seed", "42", "--format", "json", "-o", str(saved), *ECHO).returncode == 0
    records = [json.loads(line) for line in saved.read_text().splitlines()]
    first = {k: v for k, v in records[0].items() if k != "time"}
    assert first == {"name": "echo_server", "stream": "stdout", "text": "starting up on localhost port 10000"}
    # Virtual seconds: the server speaks before anything blocks, and time never goes back.
    times = [r["time"] for r in records]
    assert times[0] == 0.0 and times == sorted(times)
    # --check compares what --format prints.
    again = run_simrun("--seed", "42", "--format", "json", "--check", str(saved), *ECHO)
    assert (again.returncode, again.stdout) == (0, b"")
    other = run_simrun("--seed", "42", "--check", str(saved), *ECHO)
    assert other.returncode == 1 and other.stdout.startswith(b"--- ")


def read_terminal(argv: list[str], env: dict[str, str]) -> bytes:
    """What simrun writes to a terminal (a pseudo-terminal), read until it closes."""
    controller, terminal = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "netsim.simrun", *argv], stdout=terminal,
                          stderr=subprocess.DEVNULL, env=env) as process:
        os.close(terminal)
        out = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            out += chunk
        process.wait(timeout=DEADLINE)
    os.close(controller)
    return out.replace(b"\r\n", b"\n")


def test_names_are_aligned_and_coloured_on_a_terminal_only():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = read_terminal(["--seed", "42", *ECHO], env)
    assert b"\x1b[34mecho_server |\x1b[0m starting up on localhost port 10000\n" in coloured
    assert b"\x1b[31mecho_client |\x1b[0m connecting to localhost port 10000\n" in coloured
    plain = run_simrun("--seed", "42", *ECHO).stdout  # a pipe
    assert b"\x1b" not in plain
    assert read_terminal(["--seed", "42", *ECHO], {**env, "NO_COLOR": "1"}) == plain
    assert read_terminal(["--seed", "42", "--color", "never", *ECHO], env) == plain
    forced = run_simrun("--seed", "42", "--color", "always", "--timestamps", *ECHO).stdout
    assert re.match(rb"\x1b\[2m0\.0000\d\d\x1b\[0m \x1b\[34mecho_server \|\x1b\[0m starting up", forced)


@pytest.mark.parametrize("argv, message", [
    (["--diagram", "d.png"], "--diagram d.png: the file name must end in .md, .mmd, .svg, .html"),
    (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
    (["--explore", "3", "--pcap", "p.pcap"], "--pcap is for a single run, not --explore or --verify"),
    (["--verify", "--timestamps"], "--timestamps is for a single run, not --explore or --verify"),
    (["--pcap", "same.out", "-o", "same.out"], "-o same.out and --pcap same.out are the same file"),
    (["--pcap", "/nonexistent/p.pcap"], "cannot write --pcap /nonexistent/p.pcap: No such file or directory"),
])
def test_bad_output_options_are_one_line_and_status_2(tmp_path, argv, message):
    done = run_simrun(*argv, *ECHO, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().startswith(f"simrun: {message}")
    assert done.stderr.count(b"\n") == 1


# --- tshark reads the capture -----------------------------------------------------


def tshark_fields(pcap: Path, *fields: str) -> list[list[str]]:
    done = subprocess.run([tool("tshark"), "-r", str(pcap), "-o", "tcp.check_checksum:TRUE",
                           "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                           "-T", "fields", *(x for f in fields for x in ("-e", f))],
                          capture_output=True, timeout=DEADLINE, check=True)
    return [line.split("\t") for line in done.stdout.decode().splitlines()]


def follow(pcap: Path, stream: int) -> tuple[str, str, bytes, bytes]:
    """tshark's own reassembly of a TCP stream: the two nodes and the bytes each sent."""
    done = subprocess.run([tool("tshark"), "-r", str(pcap), "-q", "-z", f"follow,tcp,raw,{stream}"],
                          capture_output=True, timeout=DEADLINE, check=True)
    nodes, sent = [], [b"", b""]
    for line in done.stdout.decode().splitlines():
        if line.startswith("Node "):
            nodes.append(line.split(": ", 1)[1])
        elif len(nodes) == 2 and re.fullmatch(r"\t?[0-9a-f]+", line):
            sent[line.startswith("\t")] += bytes.fromhex(line.strip())
    return nodes[0], nodes[1], sent[0], sent[1]


def flag(value: str) -> bool:
    return value in ("1", "True")  # tshark 4.0 prints 1, later versions True


def capture(tmp_path: Path, commands: list[str]) -> Path:
    pcap = tmp_path / "run.pcap"
    done = run_simrun("--seed", "42", "--pcap", str(pcap), *commands)
    assert done.returncode == 0, done.stderr
    return pcap


def test_tshark_reads_the_echo_conversation(tmp_path):
    pcap = capture(tmp_path, ECHO)
    rows = tshark_fields(pcap, "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
                         "tcp.flags.fin", "tcp.flags.reset", "tcp.checksum.status", "ip.checksum.status",
                         "frame.time_epoch", "_ws.expert.severity")
    # The handshake, from the client's ephemeral port (40742, as the transcript says).
    assert [(r[0], r[1], flag(r[2]), flag(r[3])) for r in rows[:3]] == [
        ("40742", "10000", True, False), ("10000", "40742", True, True), ("40742", "10000", False, True)]
    assert {(r[6], r[7]) for r in rows} == {("1", "1")}  # every checksum good
    fins = [(r[0], r[1]) for r in rows if flag(r[4])]
    assert sorted(fins) == [("10000", "40742"), ("40742", "10000")]
    assert not any(flag(r[5]) for r in rows)
    # The virtual clock's 2024-01-01.
    assert 1704067200 <= float(rows[0][8]) < 1704067201
    # tshark's analysis finds nothing wrong (its warnings are 0x600000, errors 0x800000).
    assert all(int(severity) < 0x600000 for r in rows for severity in r[9].split(",") if severity)
    client, server, sent, answered = follow(pcap, 0)
    assert (client, server) == ("127.0.0.1:40742", "127.0.0.1:10000")
    assert sent == answered == ECHO_MESSAGE


def test_tshark_reads_the_http_conversations(tmp_path):
    pcap = capture(tmp_path, HTTP)
    pages = {"/": (EXAMPLES / "site" / "index.html").read_bytes(),
             "/hello.txt": (EXAMPLES / "site" / "hello.txt").read_bytes()}
    for stream, path in enumerate(pages):
        client, server, request, response = follow(pcap, stream)
        assert server == "127.0.0.1:8000" and client.startswith("127.0.0.1:")
        assert request.startswith(f"GET {path} HTTP/1.1\r\n".encode())
        assert response.startswith(b"HTTP/1.0 200 OK\r\n") and response.endswith(pages[path])
    rows = tshark_fields(pcap, "tcp.stream", "tcp.flags.syn", "tcp.flags.fin", "http.request.uri")
    assert {r[3] for r in rows if r[3]} == set(pages)
    for stream in ("0", "1"):
        assert sum(flag(r[1]) for r in rows if r[0] == stream) == 2  # SYN, SYN-ACK
        assert sum(flag(r[2]) for r in rows if r[0] == stream) == 2  # a FIN each way


def test_tshark_reads_udp_and_ipv6_from_the_python_api(tmp_path):
    def resolver():
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 5353))
            data, peer = sock.recvfrom(100)
            sock.sendto(b"answer to " + data, peer)

    def asker():
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"query", ("::1", 5353))
            print(sock.recv(100))

    sim = netsim.Simulation(3)
    sim.spawn("resolver", resolver)
    sim.spawn("asker", asker)
    pcap = tmp_path / "udp.pcap"
    pcap.write_bytes(sim.run().pcap())
    rows = tshark_fields(pcap, "ipv6.src", "udp.dstport", "udp.checksum.status", "udp.payload")
    assert [(r[0], r[1], r[2], bytes.fromhex(r[3])) for r in rows] == [
        ("::1", "5353", "1", b"query"), ("::1", rows[1][1], "1", b"answer to query")]


def test_tshark_sees_the_simulated_hosts_addresses(tmp_path):
    def web():
        with socket.create_server(("10.0.0.2", 80)) as listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(conn.recv(100).upper())

    def laptop():
        with socket.create_connection(("10.0.0.2", 80)) as sock:
            sock.sendall(b"hello")
            print(sock.recv(100))

    sim = netsim.Simulation(5)
    sim.add_host("web", "10.0.0.2")
    sim.add_host("laptop", "10.0.0.3")
    sim.spawn("web", web, host="web")
    sim.spawn("laptop", laptop, host="laptop")
    pcap = tmp_path / "hosts.pcap"
    pcap.write_bytes(sim.run().pcap())
    rows = tshark_fields(pcap, "ip.src", "ip.dst", "tcp.dstport")
    assert rows[0] == ["10.0.0.3", "10.0.0.2", "80"]
    assert {(r[0], r[1]) for r in rows} == {("10.0.0.3", "10.0.0.2"), ("10.0.0.2", "10.0.0.3")}
    assert follow(pcap, 0)[2:] == (b"hello", b"HELLO")


# --- Chromium opens the HTML ------------------------------------------------------


def chromium(*argv: str, cwd: Path) -> bytes:
    # --no-sandbox: the tests may run as root, which Chromium's sandbox refuses.
    done = subprocess.run([tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--no-first-run", *argv],
                          capture_output=True, timeout=DEADLINE, cwd=cwd)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout


def png_is_not_blank(path: Path) -> bool:
    """Whether a PNG holds more than one colour: its decompressed scanlines, of a blank
    page, hold a handful of byte values (filter bytes and one colour)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks += data[at + 8:at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(chunks))) > 16


def text_of(dom: bytes) -> str:
    return re.sub(r"<[^>]+>", "", dom.decode()).replace("&gt;", ">").replace("&lt;", "<")


def test_chromium_renders_the_html_transcript_and_diagram(tmp_path):
    done = run_simrun("--seed", "42", "--format", "html", "-o", str(tmp_path / "t.html"),
                      "--diagram", str(tmp_path / "d.html"), *ECHO)
    assert done.returncode == 0, done.stderr
    for page, expected in (("t.html", ["echo_server: starting up on localhost port 10000",
                                       "echo_client: received b'This is the mess'"]),
                           ("d.html", ["echo_server", "echo_client", "connect 127.0.0.1:10000",
                                       '"This is the message.  It' , "FIN"])):
        url = (tmp_path / page).as_uri()
        text = text_of(chromium("--dump-dom", url, cwd=tmp_path))
        for line in expected:
            assert line in text, (page, line)
        shot = tmp_path / f"{page}.png"
        chromium(f"--screenshot={shot}", "--window-size=1000,700", url, cwd=tmp_path)
        assert png_is_not_blank(shot)


# --- keeping a tutorial current ---------------------------------------------------


STALE = """# A tutorial

Run the pool:

```sh simrun
simrun --seed 42 {script}
```

```text simrun-output
thread_pool: an old line
```

And with times:

```sh simrun
simrun --seed 42 --timestamps {script}
```

The end.
"""


def tutorial(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.tutorial", *argv], capture_output=True,
                          timeout=DEADLINE, cwd=cwd)


def test_the_tutorial_updater_checks_and_rewrites_output_blocks(tmp_path):
    shutil.copy(EXAMPLES / "thread_pool.py", tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text(STALE.format(script="thread_pool.py"))
    expected = (REPO / "examples" / "simrun" / "thread_pool.transcript").read_text()

    check = tutorial("--check", "doc.md", cwd=tmp_path)
    assert check.returncode == 1
    assert "-thread_pool: an old line\n+thread_pool: job 1 took 1.000 s" in check.stdout.decode()
    assert check.stderr.decode() == ("netsim.tutorial: doc.md is out of date: run python -m "
                                     "netsim.tutorial doc.md\n")
    assert doc.read_text() == STALE.format(script="thread_pool.py")  # --check writes nothing

    assert tutorial("doc.md", cwd=tmp_path).returncode == 0
    text = doc.read_text()
    assert f"```text simrun-output\n{expected}```\n\nAnd with times:" in text
    # A command without an output block gets one, right after it.
    stamped = "".join(f"1.000000 {line}\n" if "all jobs" in line or "job" in line else line
                      for line in expected.splitlines(keepends=True))
    assert re.search(r"--timestamps thread_pool.py\n```\n\n```text simrun-output\n(\d\.\d{6} thread_pool: .*\n){6}"
                     r"```\n\nThe end.\n", text)
    assert stamped.count("thread_pool") == 6
    assert tutorial("--check", "doc.md", cwd=tmp_path).returncode == 0
    # Running it again changes nothing.
    assert tutorial("doc.md", cwd=tmp_path).returncode == 0 and doc.read_text() == text


@pytest.mark.parametrize("text, message", [
    ("```sh simrun\nls -l\n```\n", "doc.md:1: a block marked 'simrun' holds one simrun command line"),
    ("```sh simrun\nsimrun --bogus x.py\n```\n", "doc.md:1: simrun: unknown option --bogus"),
    ("no examples here\n", "doc.md: no example"),
])
def test_the_tutorial_updater_reports_bad_examples_in_one_line(tmp_path, text, message):
    (tmp_path / "doc.md").write_text(text)
    done = tutorial("doc.md", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.decode().startswith(f"netsim.tutorial: {message}")
    assert done.stderr.count(b"\n") == 1


def test_the_docs_examples_are_current():
    done = tutorial("--check", str(REPO / "docs" / "simrun.md"), cwd=REPO)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
