# The echo server of simrun_bench.py: python3 simrun_echo_server.py PORT
# Says which port it listens on (PORT 0: one the system picks), then echoes one
# connection until the client closes it.
import socket
import sys

with socket.create_server(('127.0.0.1', int(sys.argv[1]))) as listener:
    print('listening on', listener.getsockname()[1], flush=True)
    connection, _ = listener.accept()
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        echoed = 0
        while data := connection.recv(4096):
            connection.sendall(data)
            echoed += len(data)
print('echoed', echoed, 'bytes')
