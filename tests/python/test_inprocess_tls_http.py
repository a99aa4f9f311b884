"""TLS, name lookups and HTTP (http.server, urllib, http.client, requests) in
simulated tasks, over the virtual network."""

import asyncio
import functools
import http.client
import http.server
import os
import select
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import requests

import netsim

# 2033-05-18T03:33:20Z: urllib3 warns about clocks older than its release.
LATER_EPOCH = 2_000_000_000


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    directory = tmp_path_factory.mktemp("certs")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "36500",
                    "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(cert), str(key)


def server_context(certs):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certs)
    return context


def client_context(certs):
    return ssl.create_default_context(cafile=certs[0])


def run_tls_many(make, times=50):
    """Like the run_many fixture, for runs carrying TLS: OpenSSL's randomness makes
    the ciphertext differ on every run, so traces are compared without payloads
    (every event, size and moment must still be the same)."""

    def without_payloads(result):
        return [{k: v for k, v in event.items() if k != "data" or event["event"] == "output"}
                for event in result.trace]

    results = [make().run() for _ in range(times)]
    first = results[0]
    for other in results[1:]:
        assert other.transcript_bytes == first.transcript_bytes
        assert without_payloads(other) == without_payloads(first)
    return first


# -- TLS over simulated sockets


def tls_echo_server(certs, port):
    context = server_context(certs)
    context.set_alpn_protocols(["echo/1"])
    with socket.create_server(("127.0.0.1", port)) as plain:
        with context.wrap_socket(plain, server_side=True) as listener:
            conn, address = listener.accept()
            with conn:
                print(type(conn).__qualname__, "from", address, conn.version(), conn.selected_alpn_protocol())
                print("server_side", conn.server_side, "peer cert", conn.getpeercert())
                while data := conn.recv(1024):
                    print("received", data)
                    conn.sendall(data.upper())
            print("client left")


def tls_echo_client(certs, port):
    context = client_context(certs)
    context.set_alpn_protocols(["echo/1"])
    with socket.create_connection(("localhost", port)) as plain:
        with context.wrap_socket(plain, server_hostname="localhost") as sock:
            print("wrapped, plain socket closed:", plain.fileno() == -1, "fd", sock.fileno())
            print(sock.version(), sock.cipher()[1], sock.selected_alpn_protocol(), sock.server_hostname)
            print("server", dict(pair[0] for pair in sock.getpeercert()["subject"]))
            print("peer", sock.getpeername()[0], "context kept", sock.context is context)
            sock.sendall(b"hello over tls")
            print("reply", sock.recv(1024))
            stream = sock.makefile("rwb")
            stream.write(b"one line\n" * 3)
            stream.flush()
            print("lines", [stream.readline() for _ in range(3)])
            stream.close()


def test_tls_echo_is_identical_over_20_runs(certs):
    def make():
        sim = netsim.Simulation(seed=7)
        sim.spawn("server", tls_echo_server, args=(certs, 8443))
        sim.spawn("client", tls_echo_client, args=(certs, 8443))
        return sim

    result = run_tls_many(make)
    lines = result.transcript.splitlines()
    assert lines[0] == "client: wrapped, plain socket closed: True fd 3"
    assert "client: TLSv1.3 TLSv1.3 echo/1 localhost" in lines
    assert "client: server {'commonName': 'localhost'}" in lines
    assert "client: peer 127.0.0.1 context kept True" in lines
    assert "client: reply b'HELLO OVER TLS'" in lines
    assert "client: lines [b'ONE LINE\\n', b'ONE LINE\\n', b'ONE LINE\\n']" in lines
    accepted = next(line for line in lines if line.startswith("server: SSLSocket from"))
    assert accepted.endswith("TLSv1.3 echo/1")
    assert "server: server_side True peer cert None" in lines
    assert lines[-1] == "server: client left"
    assert result.exit_status == 0


def test_non_blocking_handshake_timeout_and_unwrap(certs, run_many):
    def server():
        with socket.create_server(("127.0.0.1", 8444)) as listener:
            conn, _ = listener.accept()
        conn.setblocking(False)
        sock = server_context(certs).wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        waits = 0
        while True:
            try:
                sock.do_handshake()
                break
            except ssl.SSLWantReadError:
                waits += 1
                select.select([sock], [], [])
        print("handshake done after", waits, "waits")
        try:
            sock.recv(100)
        except ssl.SSLWantReadError as e:
            print("nothing yet:", type(e).__name__, e.errno)
        select.select([sock], [], [])
        print("data", sock.recv(100), "pending", sock.pending())
        sock.settimeout(2)
        start = time.monotonic()
        try:
            sock.recv(100)
        except TimeoutError as e:
            print(f"{e} after {time.monotonic() - start} s")
        sock.settimeout(None)
        plain = sock.unwrap()
        print("unwrapped", plain is sock, "then in the clear:", plain.recv(100))
        plain.close()

    def client():
        plain = socket.create_connection(("127.0.0.1", 8444))
        sock = client_context(certs).wrap_socket(plain, server_hostname="localhost")
        time.sleep(1)
        sock.sendall(b"late")
        time.sleep(5)
        sock.unwrap().sendall(b"no tls")
        sock.close()

    def make():
        sim = netsim.Simulation(seed=3)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim

    result = run_tls_many(make, times=10)
    assert result.transcript == (
        "server: handshake done after 1 waits\n"
        "server: nothing yet: SSLWantReadError 2\n"
        "server: data b'late' pending 0\n"
        "server: The read operation timed out after 2.0 s\n"
        "server: unwrapped True then in the clear: b'no tls'\n")


def test_certificate_for_another_name_is_rejected(certs):
    def server():
        with socket.create_server(("127.0.0.1", 8445)) as plain:
            with server_context(certs).wrap_socket(plain, server_side=True) as listener:
                try:
                    listener.accept()
                except ssl.SSLError as e:
                    print("alert from the client:", e.reason)

    def client():
        with socket.create_connection(("127.0.0.1", 8445)) as plain:
            try:
                client_context(certs).wrap_socket(plain, server_hostname="example.org")
            except ssl.SSLCertVerificationError as e:
                print("verification failed:", e.verify_message)
            print("socket closed:", plain.fileno() == -1)

    sim = netsim.Simulation()
    sim.spawn("server", server)
    sim.spawn("client", client)
    assert sim.run().transcript == (
        "client: verification failed: Hostname mismatch, certificate is not valid for 'example.org'.\n"
        "client: socket closed: True\n"
        "server: alert from the client: SSLV3_ALERT_BAD_CERTIFICATE\n")


def test_real_sockets_keep_the_real_ssl(certs):
    """A real socket wrapped inside a task gets CPython's SSLSocket (nothing is
    connected, so nothing goes on the network), and the patch goes away after."""
    seen = {}
    real = socket.socket()  # created outside the task: a real socket

    def wrap_real():
        wrapped = client_context(certs).wrap_socket(real, server_hostname="localhost", do_handshake_on_connect=False)
        seen["type"] = type(wrapped)
        wrapped.close()

    sim = netsim.Simulation()
    sim.spawn("task", wrap_real)
    assert sim.run().exit_status == 0
    assert seen["type"] is ssl.SSLSocket
    assert "wrap_socket" in vars(ssl.SSLContext) and ssl.SSLContext.wrap_socket.__module__ == "ssl"


def test_asyncio_tls_echo_is_identical_over_20_runs(certs):
    async def handle(reader, writer):
        print("connection", writer.get_extra_info("ssl_object").version(),
              writer.get_extra_info("peername")[0])
        while line := await reader.readline():
            writer.write(line[::-1].strip() + b"\n")
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        print("closed")

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 9443, ssl=server_context(certs))
        async with server:
            await server.serve_forever()

    async def ask():
        reader, writer = await asyncio.open_connection("127.0.0.1", 9443, ssl=client_context(certs),
                                                       server_hostname="localhost")
        for word in (b"stressed", b"drawer"):
            writer.write(word + b"\n")
            await writer.drain()
            print("got", await reader.readline())
        writer.close()
        await writer.wait_closed()

    def make():
        sim = netsim.Simulation(seed=11)
        sim.spawn("server", asyncio.run, args=(serve(),))
        sim.spawn("client", asyncio.run, args=(ask(),))
        return sim

    result = run_tls_many(make)
    assert result.transcript == (
        "server: connection TLSv1.3 127.0.0.1\n"
        "client: got b'desserts\\n'\n"
        "client: got b'reward\\n'\n"
        "server: closed\n"
        "server: netsim: stopped by SIGTERM at the end of the run\n")


# -- names


def test_name_lookups_answer_from_the_simulation(run_many):
    def lookups():
        print("gethostname", socket.gethostname(), "getfqdn", socket.getfqdn(), socket.getfqdn("127.0.0.1"))
        print("gethostbyname", socket.gethostbyname("localhost"), socket.gethostbyname("db"))
        print("gethostbyname_ex", socket.gethostbyname_ex("db"), socket.gethostbyname_ex("127.0.0.1"))
        print("gethostbyaddr", socket.gethostbyaddr("127.0.0.1"), socket.gethostbyaddr("::1"),
              socket.gethostbyaddr("db"))
        print("getnameinfo", socket.getnameinfo(("127.0.0.1", 80), 0),
              socket.getnameinfo(("127.0.0.1", 8000), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV))
        for call in (lambda: socket.gethostbyname("www.python.org"), lambda: socket.gethostbyaddr("10.9.9.9"),
                     lambda: socket.getnameinfo(("10.0.0.2", 80), socket.NI_NAMEREQD)):
            try:
                call()
            except OSError as e:
                print(type(e).__name__, e)

    def make():
        sim = netsim.Simulation()
        sim.add_host("db", "10.0.0.2")
        sim.spawn("names", lookups)
        return sim

    assert run_many(make, times=5).transcript == (
        "names: gethostname localhost getfqdn localhost localhost\n"
        "names: gethostbyname 127.0.0.1 10.0.0.2\n"
        "names: gethostbyname_ex ('db', [], ['10.0.0.2']) ('127.0.0.1', [], ['127.0.0.1'])\n"
        "names: gethostbyaddr ('localhost', [], ['127.0.0.1']) ('localhost', [], ['::1']) ('db', [], ['10.0.0.2'])\n"
        "names: getnameinfo ('localhost', 'http') ('127.0.0.1', '8000')\n"
        "names: gaierror [Errno -2] Name or service not known\n"
        "names: herror [Errno 1] Unknown host\n"
        "names: gaierror [Errno -2] Name or service not known\n")


# -- HTTP


@pytest.fixture
def site(tmp_path):
    """A directory for SimpleHTTPRequestHandler, with times that do not change."""
    (tmp_path / "hello.txt").write_bytes(b"hello from netsim\n")
    for path in (tmp_path / "hello.txt", tmp_path):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return str(tmp_path)


def http_server(directory, port, tls=None):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    with http.server.HTTPServer(("127.0.0.1", port), handler) as httpd:
        if tls:
            httpd.socket = server_context(tls).wrap_socket(httpd.socket, server_side=True)
        print("serving on", httpd.server_name, httpd.server_port)
        httpd.serve_forever()


def make_http(directory, client, port=8000, tls=None, **options):
    def make():
        sim = netsim.Simulation(seed=5, **options)
        sim.spawn("server", http_server, args=(directory, port, tls))
        sim.spawn("client", client)
        return sim

    return make


def test_http_server_and_urllib(site, run_many):
    def client():
        with urllib.request.urlopen("http://127.0.0.1:8000/hello.txt") as response:
            print(response.status, response.headers["Content-Type"], response.headers["Last-Modified"],
                  response.headers["Date"], response.read())
        try:
            urllib.request.urlopen("http://localhost:8000/missing.txt")
        except urllib.error.HTTPError as e:
            print("HTTPError", e.code, e.reason)

    result = run_many(make_http(site, client), times=50)
    assert result.transcript == (
        "server: serving on localhost 8000\n"
        'server: 127.0.0.1 - - [01/Jan/2024 00:00:00] "GET /hello.txt HTTP/1.1" 200 -\n'
        "client: 200 text/plain Tue, 14 Nov 2023 22:13:20 GMT Mon, 01 Jan 2024 00:00:00 GMT "
        "b'hello from netsim\\n'\n"
        "server: 127.0.0.1 - - [01/Jan/2024 00:00:00] code 404, message File not found\n"
        'server: 127.0.0.1 - - [01/Jan/2024 00:00:00] "GET /missing.txt HTTP/1.1" 404 -\n'
        "client: HTTPError 404 File not found\n"
        "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_http_server_and_http_client(site, run_many):
    def client():
        time.sleep(90)
        connection = http.client.HTTPConnection("localhost", 8000, timeout=10)
        connection.request("HEAD", "/hello.txt")
        response = connection.getresponse()
        print(response.status, response.reason, response.getheader("Content-Length"), response.read())
        connection.request("GET", "/")
        response = connection.getresponse()
        listing = response.read().decode()
        print(response.status, "listing has hello.txt:", '<a href="hello.txt">hello.txt</a>' in listing)
        print("client port", connection.sock.getsockname()[1] if connection.sock else "closed")

    result = run_many(make_http(site, client), times=50)
    lines = result.transcript.splitlines()
    assert lines[:3] == [
        "server: serving on localhost 8000",
        'server: 127.0.0.1 - - [01/Jan/2024 00:01:30] "HEAD /hello.txt HTTP/1.1" 200 -',
        "client: 200 OK 18 b''",
    ]
    assert lines[3:] == [
        'server: 127.0.0.1 - - [01/Jan/2024 00:01:30] "GET / HTTP/1.1" 200 -',
        "client: 200 listing has hello.txt: True",
        "client: client port closed",  # HTTP/1.0 server: the connection ends with the response
        "server: netsim: stopped by SIGTERM at the end of the run",
    ]


def test_http_server_and_requests(site, run_many):
    def client():
        response = requests.get("http://localhost:8000/hello.txt", timeout=5)
        print(response.status_code, response.headers["Content-Length"], repr(response.text))
        with requests.Session() as session:
            for path in ("/hello.txt", "/nothing"):
                print(path, session.get(f"http://127.0.0.1:8000{path}").status_code)

    result = run_many(make_http(site, client), times=50)
    lines = result.transcript.splitlines()
    assert 'server: 127.0.0.1 - - [01/Jan/2024 00:00:00] "GET /hello.txt HTTP/1.1" 200 -' in lines
    assert "client: 200 18 'hello from netsim\\n'" in lines
    assert "client: /hello.txt 200" in lines and "client: /nothing 404" in lines
    assert sum('"GET /hello.txt HTTP/1.1" 200 -' in line for line in lines) == 2


def test_python_m_http_server_threads_per_connection(site, run_many):
    """``python -m http.server``: a ThreadingHTTPServer, one simulated thread per
    connection."""
    def client():
        for path in ("/hello.txt", "/"):
            with urllib.request.urlopen("http://localhost:8000" + path) as response:
                print(path, response.status, response.headers["Content-Type"])

    def make():
        sim = netsim.Simulation(seed=9)
        sim.spawn_module("server", "http.server", ["--bind", "127.0.0.1", "--directory", site, "8000"])
        sim.spawn("client", client)
        return sim

    assert run_many(make, times=50).transcript == (
        "server: Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ...\n"
        'server: 127.0.0.1 - - [01/Jan/2024 00:00:00] "GET /hello.txt HTTP/1.1" 200 -\n'
        "client: /hello.txt 200 text/plain\n"
        'server: 127.0.0.1 - - [01/Jan/2024 00:00:00] "GET / HTTP/1.1" 200 -\n'
        "client: / 200 text/html; charset=utf-8\n"
        "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_https_server_with_requests_and_urllib(site, certs):
    def client():
        response = requests.get("https://localhost:8443/hello.txt", verify=certs[0])
        print("requests", response.status_code, repr(response.text))
        with urllib.request.urlopen("https://127.0.0.1:8443/hello.txt", context=client_context(certs)) as r:
            print("urllib", r.status, r.read())
        try:
            requests.get("https://localhost:8443/hello.txt")  # the system's CAs do not know it
        except requests.exceptions.SSLError as e:
            print("requests without the CA:", "CERTIFICATE_VERIFY_FAILED" in str(e))

    result = run_tls_many(make_http(site, client, port=8443, tls=certs, epoch=LATER_EPOCH), times=5)
    lines = result.transcript.splitlines()
    assert "client: requests 200 'hello from netsim\\n'" in lines
    assert "client: urllib 200 b'hello from netsim\\n'" in lines
    assert "client: requests without the CA: True" in lines
    assert sum('[18/May/2033 03:33:20] "GET /hello.txt HTTP/1.1" 200 -' in line for line in lines) == 2


def test_connection_refused_is_a_url_error():
    def client():
        try:
            urllib.request.urlopen("http://127.0.0.1:8080/")
        except urllib.error.URLError as e:
            print(type(e).__name__, repr(e.reason))
        try:
            requests.get("http://localhost:8080/")
        except requests.ConnectionError as e:
            print(type(e).__name__, "refused:", "Connection refused" in str(e))

    sim = netsim.Simulation()
    sim.spawn("client", client)
    assert sim.run().transcript == (
        "client: URLError ConnectionRefusedError(111, 'Connection refused')\n"
        "client: ConnectionError refused: True\n")
