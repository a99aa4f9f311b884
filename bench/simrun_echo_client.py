# The echo client of simrun_bench.py: python3 simrun_echo_client.py PORT COUNT
# Sends COUNT numbered 16-byte messages one at a time, each once the previous one
# has come back, and checks every echo.
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
with socket.create_connection(('127.0.0.1', port)) as sock:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(count):
        message = b'%016d' % i
        sock.sendall(message)
        echo = b''
        while len(echo) < len(message):
            chunk = sock.recv(len(message) - len(echo))
            if not chunk:
                sys.exit('connection closed in round trip {}'.format(i))
            echo += chunk
        if echo != message:
            sys.exit('round trip {}: sent {!r}, got {!r}'.format(i, message, echo))
print(count, 'round trips')
