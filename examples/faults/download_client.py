"""Downloads /data and says how long it took: on a perfect network no time at all,
on a slow link the time its bytes need to cross it."""
import sys
import time
import urllib.request

HOST = sys.argv[1] if len(sys.argv) > 1 else "localhost"

start = time.monotonic()
with urllib.request.urlopen(f"http://{HOST}:8080/data") as response:
    first = time.monotonic()
    body = response.read()
done = time.monotonic()
print(f"first byte after {first - start:.2f}s")
print(f"{len(body)} bytes in {done - start:.2f}s")
