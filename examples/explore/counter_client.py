# Two threads each increment the server's counter twice, by reading it and writing
# it back plus one: a read-modify-write that is not atomic. Depending on how the
# threads interleave, an increment can be lost. Exits 1 when one was.
# With --lock, a lock around each read-modify-write makes it atomic between the
# two threads: the count is always right.
import socket
import sys
import threading

THREADS = 2
INCREMENTS = 2
lock = threading.Lock() if '--lock' in sys.argv[1:] else None


def ask(conn, request):
    conn.sendall(request)
    return conn.makefile('rb').readline().strip()


def increment(conn):
    value = int(ask(conn, b'get\n'))
    ask(conn, b'set %d\n' % (value + 1))


def work():
    with socket.create_connection(('localhost', 7000)) as conn:
        for _ in range(INCREMENTS):
            if lock:
                with lock:
                    increment(conn)
            else:
                increment(conn)


threads = [threading.Thread(target=work) for _ in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with socket.create_connection(('localhost', 7000)) as conn:
    count = int(ask(conn, b'get\n'))
print(f'count {count}, expected {THREADS * INCREMENTS}')
sys.exit(0 if count == THREADS * INCREMENTS else 1)
