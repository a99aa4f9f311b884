# A client for threaded_server.py: python3 threaded_client.py NAME
# It sends three messages, a second apart, and prints each reply.
import socket
import sys
import time

name = sys.argv[1] if len(sys.argv) > 1 else 'client'

with socket.create_connection(('localhost', 10000)) as sock:
    for i in range(1, 4):
        message = '{} says hello #{}'.format(name, i).encode()
        sock.sendall(message)
        print('sent {!r}'.format(message))
        print('received {!r}'.format(sock.recv(1024)))
        time.sleep(1)
print('closing socket')
