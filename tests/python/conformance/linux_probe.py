# What a program can ask Linux about itself and its machine, printed for
# tests/python/test_conformance.py, which runs it in-process and under simrun and
# compares the two transcripts: process and thread ids, host name and uname, CPUs,
# name resolution and its order, descriptor numbers, pipes, socketpair, AF_UNIX.
import os, socket, threading, platform
print("pid", os.getpid(), "ppid", os.getppid())
print("tid", threading.get_native_id() - os.getpid())
print("hostname", socket.gethostname(), platform.node())
print("uname", os.uname())
print("cpus", os.cpu_count(), sorted(os.sched_getaffinity(0)))
print("fqdn", socket.getfqdn())
for args in [(None, 80), ("localhost", 80), ("", 80)]:
    try:
        print("gai", args, [(f.name, a[0]) for f, t, p, c, a in socket.getaddrinfo(*args, type=socket.SOCK_STREAM)])
    except OSError as e:
        print("gai", args, "error", e)
print("gai passive", [(f.name, a[0]) for f, t, p, c, a in socket.getaddrinfo(None, 80, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)])
print("byaddr", socket.gethostbyaddr("127.0.0.1"))
try:
    print("byaddr6", socket.gethostbyaddr("::1"))
except OSError as e: print("byaddr6 error", e)
s = socket.socket(); u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
print("fds", s.fileno(), u.fileno())
r, w = os.pipe(); print("pipe", r, w)
a, b = socket.socketpair()
print("pair", a.family, a.type, a.fileno(), b.fileno(), repr(a.getsockname()), repr(b.getpeername()))
a.sendall(b"x"); print("pair got", b.recv(10))
t = threading.Thread(target=lambda: print("thread tid", threading.get_native_id()))
t.start(); t.join()
try:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind("probe.sock"); srv.listen()
    c = socket.socket(socket.AF_UNIX); c.connect("probe.sock"); conn, peer = srv.accept()
    print("unix", repr(peer), repr(c.getpeername()), conn.fileno())
    c.sendall(b"hi"); print("unix got", conn.recv(10))
    os.unlink("probe.sock")
except OSError as e:
    print("unix error", e)
