# A client for buggy_server.py that reports what goes wrong instead of
# crashing itself.
import socket
import sys

request = b'LOOKUP  banana\n'
try:
    sock = socket.create_connection(('localhost', 10000))
    print('sending', request)
    sock.sendall(request)
    reply = sock.recv(1024)
    print('reply', reply)
    sock.close()
except ConnectionError as exc:
    print('failed:', repr(exc))
    sys.exit(1)
