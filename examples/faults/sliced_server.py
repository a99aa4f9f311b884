"""Sends one line to each client that connects: the message the clients read."""
import socket

MESSAGE = b"the quick brown fox jumps over the lazy dog\n"

with socket.create_server(("0.0.0.0", 9000)) as listener:
    print("listening on 9000")
    for _ in range(2):
        conn, _ = listener.accept()
        with conn:
            conn.sendall(MESSAGE)
