"""Pings the server once a second, five times. Without --timeout a ping sent into a
partition waits for as long as TCP keeps trying (minutes: its retransmissions back
off, so even after the network heals the next one may be seconds away); with
--timeout SECONDS the client gives up on the connection, connects again and
carries on as soon as the network heals."""
import argparse
import socket
import time

parser = argparse.ArgumentParser()
parser.add_argument("host", nargs="?", default="localhost")
parser.add_argument("--timeout", type=float, default=None)
args = parser.parse_args()
name = "with a timeout" if args.timeout else "no timeout"
start = time.monotonic()
if args.timeout:
    time.sleep(0.5)  # half a second after the other client, so that their lines alternate


def stamp():
    return f"[{time.monotonic() - start:5.1f}s {name}]"


def connect():
    while True:
        try:
            return socket.create_connection((args.host, 9002), timeout=args.timeout)
        except OSError as e:
            print(stamp(), "connect failed:", type(e).__name__, "- trying again")


sock = connect()
try:
    ping = 1
    while ping <= 5:
        try:
            sock.sendall(f"ping {ping}\n".encode())
            reply = sock.recv(100)
            print(stamp(), "got", reply.decode().strip())
            ping += 1
            time.sleep(1)
        except OSError as e:  # socket.timeout among them
            print(stamp(), f"ping {ping}:", type(e).__name__, "- reconnecting")
            sock.close()
            sock = connect()
    print(stamp(), "done")
except KeyboardInterrupt:  # simrun stops a client still waiting at the end of the run
    pass
