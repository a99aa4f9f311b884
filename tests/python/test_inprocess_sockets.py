"""Python servers and clients as functions in one process, on the virtual network."""

import asyncio
import select
import selectors
import socket
import sys
import threading
import time

import pytest

import netsim


def echo_server(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("localhost", port))
    print("starting up on localhost port", port)
    sock.listen(1)
    while True:
        connection, client_address = sock.accept()
        with connection:
            print("connection from", client_address)
            while data := connection.recv(16):
                print(f"received {data!r}")
                connection.sendall(data)
            print("no data from", client_address)


def echo_client(port, message):
    with socket.create_connection(("localhost", port)) as sock:
        print("connected from", sock.getsockname())
        sock.sendall(message)
        received = b""
        while len(received) < len(message):
            received += sock.recv(16)
        print(f"received {received!r}")


def make_echo(seed=42):
    sim = netsim.Simulation(seed=seed)
    sim.spawn("server", echo_server, args=(10000,))
    sim.spawn("client", echo_client, args=(10000, b"This is the message. It will be repeated."))
    return sim


def test_blocking_echo_is_identical_over_50_runs(run_many):
    result = run_many(make_echo, times=50)
    lines = result.transcript.splitlines()
    assert lines[0] == "server: starting up on localhost port 10000"
    assert "client: received b'This is the message. It will be repeated.'" in lines
    # The server reads in 16-byte chunks: the message arrives in three pieces.
    assert sum(line.startswith("server: received") for line in lines) == 3
    assert result.exit_status == 0
    server, client = result.processes
    assert (server.name, server.killed, server.status) == ("server", True, 143)
    assert (client.name, client.killed, client.status) == ("client", False, 0)


def test_seeds_pick_different_ephemeral_ports():
    ports = {make_echo(seed).run().transcript.split("connected from")[1].splitlines()[0] for seed in range(5)}
    assert len(ports) > 1


def test_connection_refused_is_the_real_exception():
    def client():
        try:
            socket.create_connection(("127.0.0.1", 9))
        except ConnectionRefusedError as e:
            print(type(e).__name__, e.errno, e.strerror)

    sim = netsim.Simulation()
    sim.spawn("client", client)
    assert sim.run().transcript == "client: ConnectionRefusedError 111 Connection refused\n"


def test_crash_prints_the_traceback_and_resets_the_client(run_many):
    def buggy_server():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 8000))
        listener.listen()
        conn, _ = listener.accept()
        conn.recv(4)  # reads part of the request, leaves the rest unread
        raise RuntimeError("bug in the request handler")

    def client():
        sock = socket.create_connection(("127.0.0.1", 8000))
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            sock.recv(100)
        except ConnectionResetError as e:
            print("client got", repr(e))

    def make():
        sim = netsim.Simulation()
        sim.spawn("server", buggy_server)
        sim.spawn("client", client)
        return sim

    result = run_many(make, times=50)
    assert "server: RuntimeError: bug in the request handler" in result.transcript
    assert "server: Traceback (most recent call last):" in result.transcript
    assert "client got ConnectionResetError(104, 'Connection reset by peer')" in result.transcript
    assert result.processes[0].status == 1


def test_sleep_costs_virtual_time_only():
    def sleeper():
        start, wall = time.monotonic(), time.time()
        time.sleep(8)
        print(f"slept {time.monotonic() - start:.9f} s; clock moved {time.time() - wall:.9f} s")

    sim = netsim.Simulation()
    sim.spawn("sleeper", sleeper)
    result = sim.run()
    assert result.transcript == "sleeper: slept 8.000000000 s; clock moved 8.000000000 s\n"
    assert result.elapsed == 8.0


def test_wall_clock_starts_at_the_epoch():
    def show():
        print(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time())))

    sim = netsim.Simulation(epoch=1_000_000_000)
    sim.spawn("clock", show)
    assert sim.run().transcript == "clock: 2001-09-09 01:46:40\n"


def test_socket_timeout_expires_in_virtual_time():
    def server():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 7000))
        listener.listen()
        conn, _ = listener.accept()
        time.sleep(60)

    def client():
        sock = socket.create_connection(("127.0.0.1", 7000), timeout=1.5)
        start = time.monotonic()
        try:
            sock.recv(10)
        except TimeoutError as e:
            print(f"{e} after {time.monotonic() - start} s")

    sim = netsim.Simulation()
    sim.spawn("server", server)
    sim.spawn("client", client)
    assert sim.run().transcript == ("client: timed out after 1.5 s\n"
                                    "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_non_blocking_recv_raises_blocking_io_error():
    def pair():
        a, b = socket.socketpair()
        b.setblocking(False)
        try:
            b.recv(10)
        except BlockingIOError as e:
            print("would block:", e.errno)
        a.sendall(b"hi")
        print("then:", b.recv(10))

    sim = netsim.Simulation()
    sim.spawn("pair", pair)
    assert sim.run().transcript == "pair: would block: 11\npair: then: b'hi'\n"


def test_socket_errors_raised_while_handling_another_exception():
    def pair():
        a, b = socket.socketpair()
        b.setblocking(False)
        try:
            raise ValueError("first")
        except ValueError:
            try:
                b.recv(1)
            except BlockingIOError as e:
                print("inside except:", type(e).__name__, e.errno, repr(e.__context__))

    sim = netsim.Simulation()
    sim.spawn("pair", pair)
    assert sim.run().transcript == "pair: inside except: BlockingIOError 11 ValueError('first')\n"


async def _asyncio_echo_server(port):
    async def handle(reader, writer):
        data = await reader.read(100)
        print(f"received {data.decode()!r} from {writer.get_extra_info('peername')!r}")
        writer.write(data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("serving on", server.sockets[0].getsockname())
    async with server:
        await server.serve_forever()


async def _asyncio_echo_client(port, message):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message.encode())
    await writer.drain()
    print(f"received {(await reader.read(100)).decode()!r} at {asyncio.get_running_loop().time()}")
    await asyncio.sleep(1.5)
    writer.close()
    await writer.wait_closed()
    print("closed at", asyncio.get_running_loop().time())


def test_asyncio_echo_as_functions(run_many):
    def make():
        sim = netsim.Simulation(seed=8)
        sim.spawn("server", lambda: asyncio.run(_asyncio_echo_server(8888)))
        sim.spawn("client", lambda: asyncio.run(_asyncio_echo_client(8888, "Hello World!")))
        return sim

    result = run_many(make, times=50)
    lines = result.transcript.splitlines()
    assert lines[0] == "server: serving on ('127.0.0.1', 8888)"
    assert "client: received 'Hello World!' at 100.0" in lines
    assert "client: closed at 101.5" in lines


def select_server(port, clients):
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(5)
    inputs, done = [listener], 0
    while done < clients:
        readable, _, _ = select.select(inputs, [], [])
        for sock in readable:
            if sock is listener:
                conn, address = listener.accept()
                print("new connection from", address)
                inputs.append(conn)
            elif data := sock.recv(1024):
                print(f"echo {data!r}")
                sock.sendall(data.upper())
            else:
                inputs.remove(sock)
                sock.close()
                done += 1
    print("served", done, "clients")


def chatty_client(port, words):
    sock = socket.create_connection(("127.0.0.1", port))
    for word in words:
        sock.sendall(word.encode())
        print("got", sock.recv(1024))
        time.sleep(0.25)
    sock.close()


def test_select_server_with_several_clients(run_many):
    def make():
        sim = netsim.Simulation(seed=3)
        sim.spawn("server", select_server, args=(6000, 3))
        for words in (["a", "b"], ["c", "d", "e"], ["f"]):
            sim.spawn("client", chatty_client, args=(6000, words))
        return sim

    result = run_many(make, times=50)
    assert result.transcript.count("server: new connection from") == 3
    assert "client-3: got b'F'" in result.transcript
    assert result.transcript.index("client: got b'A'") < result.transcript.index("client-2: got b'C'")


def test_default_selector_server(run_many):
    def server():
        sel = selectors.DefaultSelector()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 6001))
        listener.listen()
        listener.setblocking(False)
        sel.register(listener, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select(timeout=10):
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ)
                elif data := key.fileobj.recv(100):
                    key.fileobj.send(data[::-1])
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()

    def make():
        sim = netsim.Simulation(seed=1)
        sim.spawn("server", server)
        sim.spawn("client", chatty_client, args=(6001, ["stressed", "drawer"]))
        return sim

    result = run_many(make, times=10)
    assert result.transcript == ("client: got b'desserts'\nclient: got b'reward'\n"
                                 "server: netsim: stopped by SIGTERM at the end of the run\n")


def test_deadlock_raises_with_the_report():
    def stuck():
        a, b = socket.socketpair()
        a.recv(1)

    sim = netsim.Simulation()
    sim.spawn("stuck", stuck)
    with pytest.raises(netsim.DeadlockError, match=r"stuck \(pid 1000, task 1\): recv on fd \d+ \(Unix stream"):
        sim.run()


def test_output_bytes_are_kept_exactly():
    def writer():
        sys.stdout.buffer.write(b"caf\xe9 \xff\n")
        print("partial", end="")

    sim = netsim.Simulation()
    sim.spawn("w", writer)
    assert sim.run().transcript_bytes == b"w: caf\xe9 \xff\nw: partial\n"


def test_patching_does_not_leak_outside_the_simulation():
    """Real sockets, clocks and select keep working in threads that are not
    simulated tasks, while a simulation runs, and nothing stays patched after."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    real_port = listener.getsockname()[1]
    seen = {}
    # Real locks, made outside the simulation: the task hands over to the plain
    # thread and waits for it (blocking its OS thread, and so the simulation).
    running, finished = threading.Lock(), threading.Lock()
    running.acquire()
    finished.acquire()

    def real_work():
        running.acquire()  # the simulation runs from here on
        try:
            with socket.create_connection(("127.0.0.1", real_port)) as c:
                conn, _ = listener.accept()
                c.sendall(b"over the real loopback")
                seen["data"] = conn.recv(100)
                seen["ready"] = select.select([conn], [], [], 0)[0] == []
                conn.close()
            seen["class"] = type(c)
            seen["time"] = time.time()
        finally:
            finished.release()  # a failure must not leave the task waiting

    def task():
        running.release()
        finished.acquire()
        print("virtual time:", time.time())

    worker = threading.Thread(target=real_work)
    worker.start()
    sim = netsim.Simulation()
    sim.spawn("task", task)
    before = time.time()
    result = sim.run()
    worker.join()
    listener.close()
    assert seen["data"] == b"over the real loopback"
    assert seen["class"] is socket.socket
    assert seen["ready"] is True
    assert seen["time"] >= before  # the real clock, not 2024's virtual one
    assert result.transcript == "task: virtual time: 1704067200.0\n"
    assert "__new__" not in vars(socket.socket)
    assert time.sleep.__module__ == "time" and select.select.__module__ == "select"


def test_local_time_in_a_task_is_utc_whatever_the_host_zone(monkeypatch):
    """The host's TZ must not reach the transcript: local time in tasks is UTC."""
    import logging

    def show():
        now = time.time()
        print(time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.ctime(), time.localtime().tm_hour)
        print("round trip:", time.mktime(time.localtime(now)) == now)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log = logging.getLogger("netsim-test-tz")
        log.addHandler(handler)
        log.warning("logged")
        log.removeHandler(handler)

    transcripts = set()
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        sim = netsim.Simulation(epoch=1_000_000_000)
        sim.spawn("clock", show)
        transcripts.add(sim.run().transcript)
    monkeypatch.delenv("TZ")
    time.tzset()
    assert transcripts == {
        "clock: 2001-09-09 01:46:40 GMT Sun Sep  9 01:46:40 2001 1\n"
        "clock: round trip: True\n"
        "clock: 2001-09-09 01:46:40,000 logged\n"
    }


def test_spawn_module_runs_python_dash_m(tmp_path):
    # json.tool on every Python: 3.13's calendar declares its month names with
    # enum.global_enum, into sys.modules["__main__"], which spawn_module leaves alone.
    document = tmp_path / "doc.json"
    document.write_text('{"b": [1, 2], "a": null}')
    sim = netsim.Simulation()
    sim.spawn_module("tool", "json.tool", ["--sort-keys", "--compact", str(document)])
    sim.spawn_module(None, "no_such_module_for_netsim")
    result = sim.run()
    assert 'tool: {"a":null,"b":[1,2]}' in result.transcript
    assert "no_such_module_for_netsim: ModuleNotFoundError: No module named 'no_such_module_for_netsim'" in result.transcript
    assert [p.status for p in result.processes] == [0, 1]
    assert "Warning" not in result.transcript


def _failing_server(in_thread):
    def handle(conn):
        conn.recv(100)
        raise KeyError("no such route")

    listener = socket.create_server(("127.0.0.1", 8080))
    conn, _ = listener.accept()
    if in_thread:
        threading.Thread(target=handle, args=(conn,)).start()
        time.sleep(60)
    else:
        handle(conn)


def _patient_client():
    sock = socket.create_connection(("127.0.0.1", 8080))
    sock.sendall(b"GET /")
    print("client waits")
    time.sleep(30)
    print("client never gets here")


@pytest.mark.parametrize("in_thread", [False, True])
def test_raise_errors_stops_the_run_and_raises(in_thread):
    sim = netsim.Simulation(raise_errors=True)
    sim.spawn("server", _failing_server, args=(in_thread,))
    sim.spawn("client", _patient_client)
    with pytest.raises(KeyError, match="no such route") as caught:
        sim.run()
    result = caught.value.netsim_result
    assert "client waits" in result.transcript
    assert "client never gets here" not in result.transcript
    assert "KeyError: 'no such route'" in result.transcript  # the traceback is still printed
    assert result.elapsed == 0.0
    assert any("raised in the netsim task" in note for note in caught.value.__notes__)


def test_by_default_the_run_goes_on_after_an_uncaught_exception():
    sim = netsim.Simulation()
    sim.spawn("server", _failing_server, args=(False,))
    sim.spawn("client", _patient_client)
    result = sim.run()
    assert "client never gets here" in result.transcript
    assert result.processes[0].status == 1


def test_udp_recv_with_msg_trunc_returns_what_fits():
    def udp():
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b.bind(("127.0.0.1", 9999))
        a.sendto(b"0123456789", ("127.0.0.1", 9999))
        a.sendto(b"abc", ("127.0.0.1", 9999))
        print(b.recv(4, socket.MSG_TRUNC), b.recvfrom(100)[0])

    sim = netsim.Simulation()
    sim.spawn("udp", udp)
    assert sim.run().transcript == "udp: b'0123' b'abc'\n"
