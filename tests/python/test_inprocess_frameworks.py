"""Real frameworks in simulated tasks: Flask and Werkzeug (dev server and test
client), Twisted, gevent, aiohttp, websockets, requests, httpx and the redis client
against a small Python server.

Each program runs in fresh interpreters, twice, and must print the same bytes (its
transcript and its trace). Fresh, because the frameworks are imported inside the
simulated tasks, as a script run by netsim.run_scripts imports them: what a module
binds at import (werkzeug's ``from threading import Lock``) is then netsim's, some
probe the network on their first import (urllib3 binds [::1]), and gevent's
monkey-patching changes the interpreter for good."""

import subprocess
import sys
import textwrap

EPILOGUE = """
import sys
result = make().run()
sys.stdout.write(result.transcript)
sys.stdout.write("-- trace --\\n" + result.trace_jsonl)
"""


EPILOGUE_WITHOUT_PAYLOADS = """
import json, sys
result = make().run()
sys.stdout.write(result.transcript)
sys.stdout.write("-- trace --\\n")
for event in result.trace:
    if event["event"] != "output":
        event.pop("data", None)
    print(json.dumps(event, sort_keys=True))
"""


def run_fresh(program: str, times: int = 2, payloads: bool = True) -> str:
    """Runs `program` (which defines make() -> Simulation) in `times` fresh
    interpreters; each must print the same transcript and trace. Returns the
    transcript. payloads=False compares the traces without the bytes sent, for
    protocols that draw random bytes from the real os.urandom (WebSocket keys and
    masks): every event, size and moment must still be the same."""
    source = textwrap.dedent(program) + (EPILOGUE if payloads else EPILOGUE_WITHOUT_PAYLOADS)
    runs = [subprocess.run([sys.executable, "-c", source], capture_output=True, timeout=120)
            for _ in range(times)]
    assert runs[0].returncode == 0, runs[0].stderr.decode()
    for other in runs[1:]:
        assert other.stdout == runs[0].stdout
    return runs[0].stdout.decode().split("-- trace --\n")[0]


FLASK_APP = """
    import netsim

    def flask_app():
        import flask

        app = flask.Flask("greeter")

        @app.route("/hello/<name>")
        def hello(name):
            return {"hello": name, "agent": flask.request.headers.get("User-Agent", "")[:8]}

        return app
"""


def test_flask_test_client():
    # Werkzeug's routing Map keeps `lock_class = Lock` on its class and calls
    # self.lock_class(): a patched Lock must not be bound to the Map.
    transcript = run_fresh(FLASK_APP + """
    def app():
        with flask_app().test_client() as client:
            response = client.get("/hello/world")
            print(response.status_code, response.get_json())

    def make():
        sim = netsim.Simulation(seed=3)
        sim.spawn("app", app)
        return sim
    """)
    assert transcript == "app: 200 {'agent': 'Werkzeug', 'hello': 'world'}\n"


def test_flask_dev_server_with_requests_over_sockets():
    transcript = run_fresh(FLASK_APP + """
    import logging, sys

    def server():
        from werkzeug.serving import make_server
        make_server("127.0.0.1", 5000, flask_app(), threaded=True).serve_forever()

    def client():
        import requests
        for name in ("ada", "bob"):
            response = requests.get(f"http://127.0.0.1:5000/hello/{name}", headers={"User-Agent": "requests"})
            print(response.status_code, response.json())

    def make():
        # 2033: urllib3 warns about clocks older than its release.
        sim = netsim.Simulation(seed=3, epoch=2_000_000_000)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """)
    assert transcript == (
        'server: 127.0.0.1 - - [18/May/2033 03:33:20] "GET /hello/ada HTTP/1.1" 200 -\n'
        "client: 200 {'agent': 'requests', 'hello': 'ada'}\n"
        'server: 127.0.0.1 - - [18/May/2033 03:33:20] "GET /hello/bob HTTP/1.1" 200 -\n'
        "client: 200 {'agent': 'requests', 'hello': 'bob'}\n"
        "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_gevent_monkey_patch_all_in_a_task():
    transcript = run_fresh("""
    import threading, time, netsim

    def patched():
        from gevent import monkey
        monkey.patch_all()
        import socket
        main = threading.main_thread()
        # gevent renames the main thread after its greenlet (an address): not printed.
        print(threading.current_thread() is main, main.name)
        print(monkey.is_module_patched("socket"), monkey.is_module_patched("threading"))
        with socket.socket() as sock:
            print(time.strftime("%H:%M:%S"), type(sock).__module__)

    def make():
        sim = netsim.Simulation(seed=5)
        sim.spawn("gevent", patched)
        return sim
    """)
    assert transcript == ("gevent: True MainThread\n"
                          "gevent: True True\n"
                          "gevent: 00:00:00 gevent._socket3\n")


def test_twisted_epoll_reactor_with_threads():
    # The reactor's waker is an os.pipe that threads write to (callFromThread): it
    # must be a simulated pipe, or the simulated epoll is asked about a real one.
    transcript = run_fresh("""
    import socket, netsim

    def server():
        from twisted.internet import epollreactor
        epollreactor.install()
        from twisted.internet import protocol, reactor, threads

        class Shout(protocol.Protocol):
            def dataReceived(self, data):
                threads.deferToThread(bytes.upper, data).addCallback(self.transport.write)

            def connectionLost(self, reason):
                print("client left:", reason.type.__name__)
                reactor.stop()

        factory = protocol.ServerFactory.forProtocol(Shout)
        port = reactor.listenTCP(8000, factory, interface="127.0.0.1")
        print("listening on", port.getHost().port, type(reactor).__name__)
        reactor.run(installSignalHandlers=False)
        print("reactor stopped")

    def client():
        with socket.create_connection(("127.0.0.1", 8000)) as sock:
            for word in (b"twisted", b"reactor"):
                sock.sendall(word)
                print("got", sock.recv(100))

    def make():
        sim = netsim.Simulation(seed=7)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """)
    assert transcript == ("server: listening on 8000 EPollReactor\n"
                          "client: got b'TWISTED'\n"
                          "client: got b'REACTOR'\n"
                          "server: client left: ConnectionDone\n"
                          "server: reactor stopped\n")


def test_aiohttp_server_and_client():
    transcript = run_fresh("""
    import asyncio, netsim

    def server():
        from aiohttp import web

        async def hello(request):
            return web.json_response({"hello": request.match_info["name"]})

        async def main():
            app = web.Application()
            app.router.add_get("/hello/{name}", hello)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 8080).start()
            print("serving")
            await asyncio.Event().wait()

        asyncio.run(main())

    def client():
        import aiohttp

        async def main():
            async with aiohttp.ClientSession() as session:
                for name in ("ada", "bob"):
                    async with session.get(f"http://127.0.0.1:8080/hello/{name}") as response:
                        print(response.status, await response.json())

        asyncio.run(main())

    def make():
        sim = netsim.Simulation(seed=11, epoch=2_000_000_000)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """)
    assert transcript == ("server: serving\n"
                          "client: 200 {'hello': 'ada'}\n"
                          "client: 200 {'hello': 'bob'}\n"
                          "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_websockets_echo():
    transcript = run_fresh("""
    import asyncio, netsim

    def server():
        from websockets.asyncio.server import serve

        async def shout(websocket):
            async for message in websocket:
                await websocket.send(message.upper())

        async def main():
            async with serve(shout, "127.0.0.1", 8765):
                print("serving")
                await asyncio.Event().wait()

        asyncio.run(main())

    def client():
        from websockets.asyncio.client import connect

        async def main():
            async with connect("ws://127.0.0.1:8765") as websocket:
                for word in ("hello", "again"):
                    await websocket.send(word)
                    print("got", await websocket.recv())

        asyncio.run(main())

    def make():
        sim = netsim.Simulation(seed=13)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """, payloads=False)
    assert transcript == ("server: serving\nclient: got HELLO\nclient: got AGAIN\n"
                          "server: netsim: stopped by SIGTERM at the end of the run\n")


HTTP_SERVER = """
    import http.server, json, netsim

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "agent": self.headers["User-Agent"][:5]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            print(format % args)

    def server():
        http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Hello).serve_forever()
"""


def test_httpx_sync_and_async_clients():
    transcript = run_fresh(HTTP_SERVER + """
    def client():
        import asyncio, httpx

        with httpx.Client() as http:
            response = http.get("http://127.0.0.1:8000/sync")
            print(response.status_code, response.json())

        async def main():
            async with httpx.AsyncClient() as http:
                response = await http.get("http://127.0.0.1:8000/async")
                print(response.status_code, response.json())

        asyncio.run(main())

    def make():
        sim = netsim.Simulation(seed=17)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """)
    assert transcript == ('server: "GET /sync HTTP/1.1" 200 -\n'
                          "client: 200 {'path': '/sync', 'agent': 'pytho'}\n"
                          'server: "GET /async HTTP/1.1" 200 -\n'
                          "client: 200 {'path': '/async', 'agent': 'pytho'}\n"
                          "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_redis_client_against_a_python_server():
    transcript = run_fresh("""
    import socketserver, netsim

    class Resp(socketserver.StreamRequestHandler):
        \"\"\"Enough of Redis's protocol (RESP2) for its client's PING, SET, GET and INCR (sent as INCRBY).\"\"\"
        store = {}

        def command(self):
            line = self.rfile.readline()
            if not line:
                return None
            words = []
            for _ in range(int(line[1:])):
                size = int(self.rfile.readline()[1:])
                words.append(self.rfile.read(size + 2)[:-2])
            return words

        def handle(self):
            while (words := self.command()) is not None:
                name = words[0].upper()
                if name != b"CLIENT":  # CLIENT SETINFO names the client's version
                    print("command", b" ".join(words).decode())
                if name == b"PING":
                    self.wfile.write(b"+PONG\\r\\n")
                elif name == b"SET":
                    self.store[words[1]] = words[2]
                    self.wfile.write(b"+OK\\r\\n")
                elif name == b"GET":
                    value = self.store.get(words[1])
                    self.wfile.write(b"$-1\\r\\n" if value is None else
                                     b"$%d\\r\\n%s\\r\\n" % (len(value), value))
                elif name == b"INCRBY":
                    value = int(self.store.get(words[1], b"0")) + int(words[2])
                    self.store[words[1]] = str(value).encode()
                    self.wfile.write(b":%d\\r\\n" % value)
                else:  # CLIENT SETINFO, which the client sends first
                    self.wfile.write(b"+OK\\r\\n")

    def server():
        socketserver.ThreadingTCPServer(("127.0.0.1", 6379), Resp).serve_forever()

    def client():
        import redis

        r = redis.Redis(host="127.0.0.1", port=6379, protocol=2)
        print(r.ping(), r.set("greeting", "hello"), r.get("greeting"), r.get("missing"))
        print(r.incr("visits"), r.incr("visits"))
        r.close()

    def make():
        sim = netsim.Simulation(seed=19)
        sim.spawn("server", server)
        sim.spawn("client", client)
        return sim
    """)
    assert transcript == ("server: command PING\n"
                          "server: command SET greeting hello\n"
                          "server: command GET greeting\n"
                          "server: command GET missing\n"
                          "client: True True b'hello' None\n"
                          "server: command INCRBY visits 1\n"
                          "server: command INCRBY visits 1\n"
                          "client: 1 2\n"
                          "server: netsim: stopped by SIGTERM at the end of the run\n")
