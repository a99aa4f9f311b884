"""select.epoll, selectors.EpollSelector and asyncio over socket pairs and loopback,
printed one fact per line: natively Linux's answers, under simrun and in-process the
simulated kernel's (tests/python/test_simrun_epoll.py compares them)."""

import asyncio
import errno
import select
import selectors
import socket


def events(ep, timeout=0):
    return sorted(ep.poll(timeout))


def modes():
    ep = select.epoll()
    lt, et, one = socket.socketpair(), socket.socketpair(), socket.socketpair()
    ep.register(lt[0], select.EPOLLIN)
    ep.register(et[0], select.EPOLLIN | select.EPOLLET)
    ep.register(one[0], select.EPOLLIN | select.EPOLLONESHOT)
    names = {lt[0].fileno(): "lt", et[0].fileno(): "et", one[0].fileno(): "oneshot"}

    def show(what):
        print(what, [(names[fd], hex(mask)) for fd, mask in events(ep)])

    show("idle")
    for pair in (lt, et, one):
        pair[1].send(b"x")
    show("data")
    show("again")
    et[1].send(b"y")
    one[1].send(b"y")
    show("more")
    ep.modify(one[0], select.EPOLLIN | select.EPOLLONESHOT)
    show("oneshot re-armed")
    try:
        ep.register(lt[0], select.EPOLLIN)
    except OSError as e:
        print("register twice:", errno.errorcode[e.errno])
    try:
        ep.unregister(999)
    except OSError as e:
        print("unregister unknown:", errno.errorcode[e.errno])
    lt[1].close()
    show("peer closed")
    ep.close()
    print("closed:", ep.closed)


def selector_echo():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    sel = selectors.EpollSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
    for i, client in enumerate(clients):
        client.sendall(f"hello {i}".encode())
    served = 0
    while served < 3:
        for key, _ in sel.select(timeout=5):
            if key.data == "accept":
                conn, _ = listener.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "echo")
            else:
                data = key.fileobj.recv(100)
                key.fileobj.sendall(data.upper())
                sel.unregister(key.fileobj)
                key.fileobj.close()
                served += 1
    print("selector replies:", sorted(client.recv(100).decode() for client in clients))
    sel.close()


async def asyncio_echo():
    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    replies = []
    for i in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"line {i}\n".encode())
        replies.append((await reader.readline()).decode().strip())
        writer.close()
    server.close()
    await server.wait_closed()
    print("asyncio replies:", replies, type(asyncio.get_running_loop()._selector).__name__)


def main():
    modes()
    selector_echo()
    asyncio.run(asyncio_echo())


if __name__ == "__main__":
    main()
