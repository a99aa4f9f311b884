# A TLS echo server: python3 tls_server.py cert.pem key.pem
import socket
import ssl
import sys

cert_file, key_file = sys.argv[1], sys.argv[2]

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert_file, key_file)

server_address = ('localhost', 8443)
with socket.create_server(server_address) as sock:
    print('listening on {} port {}'.format(*server_address))
    with context.wrap_socket(sock, server_side=True) as tls_sock:
        while True:
            connection, client_address = tls_sock.accept()
            with connection:
                print('connection from', client_address, 'using', connection.version())
                while True:
                    data = connection.recv(1024)
                    if not data:
                        print('client closed the connection')
                        break
                    print('received {!r}'.format(data))
                    connection.sendall(data)
