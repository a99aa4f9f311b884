"""Sends ten numbered datagrams. Without --ack it fires and forgets, and some never
arrive; with --ack it waits up to 0.2 s for each acknowledgement and sends again
until it gets one."""
import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("host", nargs="?", default="localhost")
parser.add_argument("--ack", action="store_true")
args = parser.parse_args()
tag = "ack" if args.ack else "fire"

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.settimeout(0.2)
    sends = 0
    for n in range(1, 11):
        message = f"{tag} {n}".encode()
        while True:
            sock.sendto(message, (args.host, 9004))
            sends += 1
            if not args.ack:
                break
            try:
                while sock.recv(100) != b"ack " + message:
                    pass  # a late acknowledgement of an earlier message
                break
            except TimeoutError:
                print(f"{tag} {n}: no acknowledgement, sending again")
    print(f"sent 10 messages in {sends} datagrams")
