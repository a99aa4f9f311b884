# A TLS echo client: python3 tls_client.py cert.pem
# (the server's self-signed certificate is the client's only trusted CA)
import socket
import ssl
import sys

cafile = sys.argv[1]

context = ssl.create_default_context(cafile=cafile)

server_address = ('localhost', 8443)
with socket.create_connection(server_address) as sock:
    with context.wrap_socket(sock, server_hostname='localhost') as tls_sock:
        print('connected to {} port {}'.format(*server_address))
        print('protocol', tls_sock.version())
        subject = dict(item[0] for item in tls_sock.getpeercert()['subject'])
        print('server certificate for', subject['commonName'])
        for message in [b'Hello over TLS', b'Goodbye']:
            print('sending {!r}'.format(message))
            tls_sock.sendall(message)
            print('received {!r}'.format(tls_sock.recv(1024)))
print('closed')
