"""Sends six requests, half a second apart. A request that fails is tried again
after 0.1 s, then 0.2 s, 0.4 s... (exponential backoff), until the server is back."""
import socket
import sys
import time

HOST = sys.argv[1] if len(sys.argv) > 1 else "localhost"
start = time.monotonic()

for n in range(1, 7):
    delay = 0.1
    while True:
        try:
            with socket.create_connection((HOST, 9003)) as sock:
                sock.sendall(f"request {n}".encode())
                reply = sock.recv(100)
            if not reply:
                raise ConnectionResetError("closed without a reply")
            print(f"[{time.monotonic() - start:.1f}s] {reply.decode()}")
            break
        except OSError as e:
            print(f"[{time.monotonic() - start:.1f}s] request {n}: {type(e).__name__}, "
                  f"retrying in {delay:.1f}s")
            time.sleep(delay)
            delay *= 2
    time.sleep(0.5)
