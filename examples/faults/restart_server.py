"""A key-value server that forgets everything when it crashes."""
import socket

with socket.create_server(("0.0.0.0", 9003)) as listener:
    print("listening on 9003")
    try:
        while True:
            conn, _ = listener.accept()
            with conn:
                request = conn.recv(100)
                conn.sendall(b"ok " + request)
    except KeyboardInterrupt:  # simrun stops the server at the end of the run
        pass
