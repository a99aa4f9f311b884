"""Answers each request line with "pong N", one thread per client."""
import socket
import threading


def serve(conn):
    try:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                stream.write(b"pong " + line.split()[-1] + b"\n")
                stream.flush()
    except ConnectionResetError:
        print("a client gave up on its connection (reset)")


with socket.create_server(("0.0.0.0", 9002)) as listener:
    print("listening on 9002")
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:  # simrun stops the server at the end of the run
        pass
