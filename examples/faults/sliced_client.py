"""Reads the server's line twice: once assuming one recv returns the whole message
(the bug), once reading until the newline that ends it (framing)."""
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else "localhost"

with socket.create_connection((HOST, 9000)) as sock:
    data = sock.recv(1024)  # the bug: a stream has no message boundaries
    print(f"one recv: {data!r}")

with socket.create_connection((HOST, 9000)) as sock:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    print(f"until the newline: {data!r}")
