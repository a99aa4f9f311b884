# The server of scale_bench.py: python3 scale_server.py CLIENTS
# One selectors loop (epoll on Linux) accepts CLIENTS connections on 127.0.0.1:7000,
# echoes each one's message in upper case, and ends once every client has closed.
import resource
import selectors
import socket
import sys

# A process with thousands of sockets needs more descriptors than the soft limit.
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
clients = int(sys.argv[1])
sel = selectors.DefaultSelector()
listener = socket.create_server(('127.0.0.1', 7000), backlog=clients)
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ)
now = most = served = 0
while served < clients:
    for key, _ in sel.select():
        if key.fileobj is listener:
            conn, _ = listener.accept()
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ)
            now += 1
            most = max(most, now)
            continue
        data = key.fileobj.recv(100)
        if data:
            key.fileobj.sendall(data.upper())
        else:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            now -= 1
            served += 1
print(type(sel).__name__, 'served', served, 'clients,', most, 'at once')
