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


def run_fresh(program: str, times: int = 2) -> str:
    """Runs `program` (which defines make() -> Simulation) in `times` fresh
    interpreters; each must print the same transcript and trace. Returns the
    transcript."""
    source = textwrap.dedent(program) + EPILOGUE
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
        "client: 200 {'agent': 'requests', 'hello': 'bob'}\n")


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
