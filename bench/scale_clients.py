# The clients of scale_bench.py: python3 scale_clients.py CLIENTS
# Opens CLIENTS connections to 127.0.0.1:7000 and holds them all open, sends a
# numbered message on each, checks each echo, then closes them.
import resource
import socket
import sys

resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
clients = int(sys.argv[1])
conns = [socket.create_connection(('127.0.0.1', 7000)) for _ in range(clients)]
for i, conn in enumerate(conns):
    conn.sendall(b'client %d' % i)
right = sum(conn.recv(100) == b'CLIENT %d' % i for i, conn in enumerate(conns))
for conn in conns:
    conn.close()
print(right, 'of', clients, 'echoes right')
