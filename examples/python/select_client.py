# A client for select_server.py: sends its message one word at a time, pausing
# between words, so that several clients' conversations interleave.
#
#     python3 select_client.py "the message to echo"
import socket
import sys
import time

message = sys.argv[1] if len(sys.argv) > 1 else 'This is the message.'
server_address = ('localhost', 10000)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print('connecting to {} port {}'.format(*server_address))
sock.connect(server_address)
print('connected from', sock.getsockname())

for word in message.split():
    outgoing = word.encode()
    print('sending {!r}'.format(outgoing))
    sock.sendall(outgoing)

    data = b''
    while len(data) < len(outgoing):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    print('received {!r}'.format(data))
    time.sleep(0.5)

print('closing socket')
sock.close()
