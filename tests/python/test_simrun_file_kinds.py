"""What a C program sees of its simulated descriptors, compared with the same program
run natively: fstat's file type (a pipe is a FIFO, a socket a socket, eventfd and
timerfd anonymous inodes), lseek/pread/pwrite (ESPIPE, or 0 where Linux's
noop_llseek answers), and ioctl FIONREAD/SIOCOUTQ. The simulated answers come from
the core's descriptor kind (Kernel::file_kind); FIONREAD is a pure read, which leaves
no event in the trace. Each simrun run is repeated and compared byte for byte."""
import json
import subprocess
import sys
import textwrap

RUNS = 3

KINDS_C = textwrap.dedent(r"""
    #define _GNU_SOURCE
    #include <errno.h>
    #include <linux/sockios.h>
    #include <netinet/in.h>
    #include <poll.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/eventfd.h>
    #include <sys/ioctl.h>
    #include <sys/socket.h>
    #include <sys/stat.h>
    #include <sys/syscall.h>
    #include <sys/timerfd.h>
    #include <unistd.h>

    static const char* err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

    static void show(const char* what, int fd) {
      struct stat st;
      char byte;
      long r;
      printf("%s:", what);
      r = fstat(fd, &st); printf(" fstat %s type %o perm %o", err(r), st.st_mode & S_IFMT, st.st_mode & 07777);
      r = lseek(fd, 0, SEEK_CUR); printf(" lseek %ld %s", r, err(r));
      r = syscall(SYS_lseek, fd, 0, SEEK_SET); printf(" raw-lseek %ld %s", r, err(r));
      r = pread(fd, &byte, 1, 0); printf(" pread %s", err(r));
      r = pwrite(fd, &byte, 1, 0); printf(" pwrite %s", err(r));
      int n = -1;
      r = ioctl(fd, FIONREAD, &n); printf(" FIONREAD %s %d", err(r), r < 0 ? -1 : n);
      n = -1;
      r = ioctl(fd, SIOCOUTQ, &n); printf(" SIOCOUTQ %s %d\n", err(r), r < 0 ? -1 : n);
    }

    static void await(int fd) {
      struct pollfd p = {fd, POLLIN, 0};
      poll(&p, 1, -1);
    }

    int main(void) {
      int p[2];
      pipe(p);
      write(p[1], "abc", 3);
      show("pipe read end", p[0]);
      show("pipe write end", p[1]);
      int sv[2];
      socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
      write(sv[1], "hello", 5);
      show("unix stream", sv[0]);
      int dv[2];
      socketpair(AF_UNIX, SOCK_DGRAM, 0, dv);
      write(dv[1], "hi", 2);
      write(dv[1], "there", 5);
      show("unix datagram", dv[0]);
      show("eventfd", eventfd(0, 0));
      show("timerfd", timerfd_create(CLOCK_MONOTONIC, 0));
      struct sockaddr_in a = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}};
      socklen_t len = sizeof a;
      int l = socket(AF_INET, SOCK_STREAM, 0);
      bind(l, (void*)&a, sizeof a);
      listen(l, 1);
      getsockname(l, (void*)&a, &len);
      show("tcp listening", l);
      int c = socket(AF_INET, SOCK_STREAM, 0);
      connect(c, (void*)&a, sizeof a);
      int s = accept(l, 0, 0);
      write(c, "12345678", 8);
      await(s);
      show("tcp connected", s);
      int u = socket(AF_INET, SOCK_DGRAM, 0);
      struct sockaddr_in ua = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}};
      len = sizeof ua;
      bind(u, (void*)&ua, sizeof ua);
      getsockname(u, (void*)&ua, &len);
      show("udp empty", u);
      int from = socket(AF_INET, SOCK_DGRAM, 0);
      sendto(from, "xyzw", 4, 0, (void*)&ua, sizeof ua);
      sendto(from, "ab", 2, 0, (void*)&ua, sizeof ua);
      await(u);
      show("udp queued", u);
      return 0;
    }
""")


def compile_c(tmp_path, source, name):
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    out = str(tmp_path / name)
    subprocess.run(["cc", "-O1", "-Werror=implicit-function-declaration", "-o", out, str(path)], check=True)
    return out


def simrun(*args, cwd):
    return subprocess.run([sys.executable, "-m", "netsim.simrun", *args], capture_output=True,
                          cwd=cwd, timeout=120, stdin=subprocess.DEVNULL)


def test_file_kinds_seek_and_queues_as_natively(tmp_path):
    program = compile_c(tmp_path, KINDS_C, "kinds")
    native = subprocess.run([program], capture_output=True, check=True, timeout=60).stdout.decode()
    # The native figures this test stands on (Linux 6.x), so that a host that
    # disagrees shows here rather than as a simulation bug.
    assert "pipe read end: fstat ok type 10000 perm 600 lseek -1 ESPIPE" in native
    assert "eventfd: fstat ok type 0 perm 600 lseek 0 ok" in native
    assert "tcp listening: fstat ok type 140000 perm 777" in native
    runs = [simrun("./kinds", cwd=tmp_path) for _ in range(RUNS)]
    for run in runs:
        assert run.returncode == 0, run.stderr.decode()
        assert run.stderr == b""
    assert len({run.stdout for run in runs}) == 1, "transcripts differ between runs"
    simulated = runs[0].stdout.decode()
    assert simulated == "".join(f"kinds: {line}\n" for line in native.splitlines())


FIONREAD_C = textwrap.dedent(r"""
    #include <stdio.h>
    #include <sys/ioctl.h>
    #include <sys/socket.h>
    #include <unistd.h>

    int main(void) {
      int sv[2];
      socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
      write(sv[1], "hello", 5);
      int n = -1;
      for (int i = 0; i < %d; ++i) ioctl(sv[0], FIONREAD, &n);
      printf("%%d\n", n);
      return 0;
    }
""")


def test_fionread_is_a_pure_read_with_no_trace_event(tmp_path):
    events = []
    for asks in (1, 50):
        directory = tmp_path / str(asks)
        directory.mkdir()
        compile_c(directory, FIONREAD_C % asks, "fionread")
        trace = directory / "trace.jsonl"
        run = simrun("--trace", str(trace), "./fionread", cwd=directory)
        assert run.returncode == 0, run.stderr.decode()
        assert run.stdout == b"fionread: 5\n"
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
        assert any(line["event"] == "send" for line in lines)  # the trace has the write
        assert not any(line["event"] == "recv" for line in lines)
        events.append(lines)
    # Fifty questions leave the same trace as one: asking changes nothing.
    assert events[0] == events[1]
