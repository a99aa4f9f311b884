# A tiny "key=value" lookup server with a deliberate bug: it reads the request
# header, then crashes with an uncaught exception before reading the rest or
# answering. The process dies, the operating system closes its sockets, and the
# client's connection is reset.
import socket

TABLE = {'apple': 'red', 'banana': 'yellow'}

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(('localhost', 10000))
server.listen(1)
print('listening on port 10000')

while True:
    connection, client_address = server.accept()
    print('connection from', client_address)
    header = connection.recv(8)            # e.g. b'LOOKUP  '
    print('request starts with', header)
    key = header.decode().split()[1]      # bug: the key is not in the header
    connection.sendall(TABLE[key].encode())
    connection.close()
