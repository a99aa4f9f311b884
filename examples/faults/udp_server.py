"""Prints each datagram that arrives and acknowledges it."""
import socket

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.bind(("0.0.0.0", 9004))
    print("listening on udp 9004")
    try:
        while True:
            data, address = sock.recvfrom(100)
            print("got", data.decode())
            sock.sendto(b"ack " + data, address)
    except KeyboardInterrupt:  # simrun stops the server at the end of the run
        pass
