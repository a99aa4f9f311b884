"""Uploads 100000 bytes twice: with one send (the bug: send may take only part of
the buffer, and says how much) and with sendall (which loops until all is sent)."""
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else "localhost"
PAYLOAD = b"x" * 100_000

with socket.create_connection((HOST, 9001)) as sock:
    sent = sock.send(PAYLOAD)
    print(f"send: {sent} of {len(PAYLOAD)} bytes taken, the rest never sent")

with socket.create_connection((HOST, 9001)) as sock:
    sock.sendall(PAYLOAD)
    print(f"sendall: all {len(PAYLOAD)} bytes sent")
