"""Counts the bytes each client sends until it closes."""
import socket

with socket.create_server(("0.0.0.0", 9001)) as listener:
    print("listening on 9001")
    for _ in range(2):
        conn, _ = listener.accept()
        total = 0
        with conn:
            while chunk := conn.recv(65536):
                total += len(chunk)
        print(f"received {total} bytes")
