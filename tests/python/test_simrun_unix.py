"""Unix-domain sockets under simrun: Python programs on paths and abstract names,
stream and datagram, with Linux's errors. No file is made for a bound path (the name
lives in the simulation), so runs side by side share nothing. Each run is repeated
and compared byte for byte."""
import concurrent.futures
import os
import subprocess
import sys
import textwrap

RUNS = 20


def simrun(*args, cwd):
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *args], capture_output=True,
                          cwd=cwd, timeout=120)


def same_every_time(tmp_path, scripts, *args):
    """Writes the scripts, runs them RUNS times, checks the transcripts are the same bytes."""
    for name, text in scripts.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: simrun(*args, *scripts, cwd=tmp_path), range(RUNS)))
    for run in runs:
        assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
        assert run.stderr == b"", run.stderr.decode()
    assert len({run.stdout for run in runs}) == 1, "transcripts differ between runs"
    return runs[0].stdout.decode()


def shown(path: str, directory) -> str:
    """A path as the transcript shows it: relative to simrun's directory."""
    return os.path.relpath(path, directory)


# The client may start first: it waits for the name as a real client would.
CONNECT = """
    import socket, time
    def connect(kind, name):
        while True:
            s = socket.socket(socket.AF_UNIX, kind)
            try:
                s.connect(name)
                return s
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                time.sleep(0.01)
"""


def test_stream_echo_on_a_path(tmp_path):
    path = str(tmp_path / "echo.sock")
    server = f"""
        import os, socket
        try:
            os.unlink({path!r})
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind({path!r})
        s.listen(1)
        print("listening on", s.getsockname(), flush=True)
        for _ in range(2):
            c, peer = s.accept()
            print("accepted", repr(peer), "as", c.getsockname())
            while data := c.recv(7):
                print("echo", data)
                c.sendall(data)
            c.close()
        s.close()
        os.unlink({path!r})
        print("unlinked")
    """
    client = CONNECT + f"""
    for i in range(2):
        c = connect(socket.SOCK_STREAM, {path!r})
        print(i, "peer", c.getpeername(), "me", repr(c.getsockname()))
        c.sendall(b"hello over a unix stream %d" % i)
        c.shutdown(socket.SHUT_WR)
        got = b""
        while data := c.recv(100):
            got += data
        print(i, "got", got)
        c.close()
    """
    transcript = same_every_time(tmp_path, {"server.py": server, "client.py": client}, "--seed", "7")
    path = shown(path, tmp_path)
    assert f"server: listening on {path}\n" in transcript
    assert f"server: accepted '' as {path}\n" in transcript
    assert f"client: 0 peer {path} me ''\n" in transcript
    assert "client: 1 got b'hello over a unix stream 1'\n" in transcript
    assert "server: unlinked\n" in transcript


def test_datagram_echo_with_sender_names(tmp_path):
    path = str(tmp_path / "dgram.sock")
    server = f"""
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind({path!r})
        for _ in range(4):
            data, sender = s.recvfrom(100)
            print("from", repr(sender), data, flush=True)
            if sender:
                s.sendto(data.upper(), sender)
    """
    client = CONNECT + f"""
    named = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    named.bind({path + ".client"!r})
    auto = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    auto.bind("")
    name = auto.getsockname()
    print("autobound", len(name), name[:1], all(chr(c) in "0123456789abcdef" for c in name[1:]))
    anonymous = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract.bind(b"\\0netsim-test")
    while True:
        try:
            named.sendto(b"named", {path!r})
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.01)
    print("reply", named.recvfrom(100))
    auto.sendto(b"auto", {path!r})
    print("reply", auto.recv(100))
    anonymous.sendto(b"anonymous", {path!r})
    abstract.connect({path!r})
    abstract.send(b"abstract")
    print("reply", abstract.recvfrom(100))
    """
    transcript = same_every_time(tmp_path, {"server.py": server, "client.py": client}, "--seed", "3")
    path = shown(path, tmp_path)
    assert f"server: from {path + '.client'!r} b'named'\n" in transcript
    assert f"client: reply (b'NAMED', {path!r})\n" in transcript
    assert "client: autobound 6 b'\\x00' True\n" in transcript
    assert "server: from None b'anonymous'\n" in transcript
    assert "server: from b'\\x00netsim-test' b'abstract'\n" in transcript
    assert f"client: reply (b'ABSTRACT', {path!r})\n" in transcript


def test_linux_errors(tmp_path):
    base = str(tmp_path / "e")
    script = f"""
        import errno, os, socket
        U, S, D = socket.AF_UNIX, socket.SOCK_STREAM, socket.SOCK_DGRAM
        def attempt(what, call):
            try:
                call()
                print(what, "ok")
            except OSError as e:
                print(what, errno.errorcode[e.errno])
        attempt("connect to nobody", lambda: socket.socket(U, S).connect({base + "1"!r}))
        attempt("connect to an unbound abstract name", lambda: socket.socket(U, S).connect(b"\\0none"))
        bound = socket.socket(U, S)
        bound.bind({base + "2"!r})
        attempt("connect to a bound socket that does not listen", lambda: socket.socket(U, S).connect({base + "2"!r}))
        attempt("bind the same path again", lambda: socket.socket(U, S).bind({base + "2"!r}))
        attempt("bind a socket twice", lambda: bound.bind({base + "3"!r}))
        attempt("listen unbound", lambda: socket.socket(U, S).listen())
        bound.close()
        attempt("bind after close", lambda: socket.socket(U, S).bind({base + "2"!r}))
        attempt("connect after close", lambda: socket.socket(U, S).connect({base + "2"!r}))
        os.unlink({base + "2"!r})
        attempt("unlink again", lambda: os.unlink({base + "2"!r}))
        attempt("bind after unlink", lambda: socket.socket(U, S).bind({base + "2"!r}))
        abstract = socket.socket(U, S)
        abstract.bind(b"\\0gone")
        attempt("bind a live abstract name", lambda: socket.socket(U, S).bind(b"\\0gone"))
        abstract.close()
        attempt("bind an abstract name after close", lambda: socket.socket(U, S).bind(b"\\0gone"))
        d = socket.socket(U, D)
        d.bind({base + "4"!r})
        attempt("stream connect to a datagram socket", lambda: socket.socket(U, S).connect({base + "4"!r}))
        attempt("sendto nobody", lambda: socket.socket(U, D).sendto(b"x", {base + "5"!r}))
        sender = socket.socket(U, D)
        sender.connect({base + "4"!r})
        d.close()
        attempt("send to a closed peer", lambda: sender.send(b"x"))
        attempt("send again", lambda: sender.send(b"x"))
        a, b = socket.socketpair(U, D)
        a.send(b"one")
        a.send(b"two")
        print("pair", b.recv(10), b.recv(10), a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == D)
        full = socket.socket(U, D)
        full.bind({base + "6"!r})
        writer = socket.socket(U, D)
        writer.setblocking(False)
        sent = 0
        try:
            while True:
                writer.sendto(b"x", {base + "6"!r})
                sent += 1
        except BlockingIOError:
            print("queued", sent, "datagrams before EAGAIN")
        attempt("seqpacket", lambda: socket.socket(U, socket.SOCK_SEQPACKET))
    """
    (tmp_path / "errors.py").write_text(textwrap.dedent(script))
    run = simrun("errors.py", cwd=tmp_path)
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
    assert run.stdout.decode() == textwrap.dedent("""\
        errors: connect to nobody ENOENT
        errors: connect to an unbound abstract name ECONNREFUSED
        errors: connect to a bound socket that does not listen ECONNREFUSED
        errors: bind the same path again EADDRINUSE
        errors: bind a socket twice EINVAL
        errors: listen unbound EINVAL
        errors: bind after close EADDRINUSE
        errors: connect after close ECONNREFUSED
        errors: unlink again ENOENT
        errors: bind after unlink ok
        errors: bind a live abstract name EADDRINUSE
        errors: bind an abstract name after close ok
        errors: stream connect to a datagram socket EPROTOTYPE
        errors: sendto nobody ENOENT
        errors: send to a closed peer ECONNREFUSED
        errors: send again ENOTCONN
        errors: pair b'one' b'two' True
        errors: queued 11 datagrams before EAGAIN
        errors: seqpacket ENOSYS
    """)
    assert run.stderr == (b"simrun: not simulated: errors: socket(AF_UNIX, SOCK_SEQPACKET) is not simulated "
                          b"(the call failed with ENOSYS)\n")


def test_socketserver_unix_stream_server(tmp_path):
    path = str(tmp_path / "ss.sock")
    server = f"""
        import socketserver
        class Upper(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline()
                self.wfile.write(line.upper())
        with socketserver.UnixStreamServer({path!r}, Upper) as server:
            print("serving", server.server_address, flush=True)
            for _ in range(3):
                server.handle_request()
        print("done")
    """
    client = CONNECT + f"""
    for word in (b"alpha", b"beta", b"gamma"):
        c = connect(socket.SOCK_STREAM, {path!r})
        c.sendall(word + b"\\n")
        print(c.makefile("rb").readline())
        c.close()
    """
    transcript = same_every_time(tmp_path, {"server.py": server, "client.py": client})
    path = shown(path, tmp_path)
    assert f"server: serving {path}\n" in transcript
    client_lines = [line for line in transcript.splitlines() if line.startswith("client: ")]
    assert client_lines == ["client: b'ALPHA\\n'", "client: b'BETA\\n'", "client: b'GAMMA\\n'"]
    assert "server: done\n" in transcript
