/* epoll's corner cases, printed one per line: run natively it gives Linux's answers,
   run under simrun the simulated kernel's (tests/python/test_simrun_epoll.py compares
   them). Only socketpairs, pipes and eventfds: nothing depends on the network. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void ctl(const char* what, int ep, int op, int fd, unsigned events, unsigned long tag) {
  struct epoll_event ev = {.events = events, .data.u64 = tag};
  const int r = epoll_ctl(ep, op, fd, &ev);
  printf("%s: %s\n", what, r == 0 ? "ok" : strerrorname_np(errno));
}

/* One epoll_wait with no timeout: "tag:events" per event, or the error. */
static void wait_for(const char* what, int ep, int max) {
  struct epoll_event out[16];
  const int n = epoll_wait(ep, out, max, 0);
  printf("%s:", what);
  if (n < 0) printf(" %s", strerrorname_np(errno));
  for (int i = 0; i < n; ++i) printf(" %lu:0x%x", (unsigned long)out[i].data.u64, out[i].events);
  printf("\n");
}

static void pair(int sv[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) exit(1);
}

static void put(int fd) {
  if (write(fd, "x", 1) != 1) exit(1);
}

static void take(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

static void errors(void) {
  const int ep = epoll_create1(0);
  int sv[2];
  pair(sv);
  printf("create1 bad flags: %s\n", epoll_create1(1) < 0 ? strerrorname_np(errno) : "ok");
  printf("create size 0: %s\n", epoll_create(0) < 0 ? strerrorname_np(errno) : "ok");
  ctl("add", ep, EPOLL_CTL_ADD, sv[0], EPOLLIN, 1);
  ctl("add again", ep, EPOLL_CTL_ADD, sv[0], EPOLLIN, 1);
  ctl("mod unregistered", ep, EPOLL_CTL_MOD, sv[1], EPOLLIN, 2);
  ctl("del unregistered", ep, EPOLL_CTL_DEL, sv[1], 0, 0);
  ctl("add itself", ep, EPOLL_CTL_ADD, ep, EPOLLIN, 3);
  ctl("epfd not epoll", sv[1], EPOLL_CTL_ADD, sv[0], EPOLLIN, 4);
  ctl("bad fd", ep, EPOLL_CTL_ADD, 999, EPOLLIN, 5);
  ctl("bad epfd", 999, EPOLL_CTL_ADD, sv[0], EPOLLIN, 6);
  ctl("bad op", ep, 42, sv[1], EPOLLIN, 7);
  ctl("mod exclusive", ep, EPOLL_CTL_MOD, sv[0], EPOLLIN | EPOLLEXCLUSIVE, 8);
  ctl("add exclusive oneshot", ep, EPOLL_CTL_ADD, sv[1], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 9);
  ctl("del", ep, EPOLL_CTL_DEL, sv[0], 0, 0);
  ctl("del again", ep, EPOLL_CTL_DEL, sv[0], 0, 0);
  struct epoll_event out[1];
  printf("wait max 0: %s\n", epoll_wait(ep, out, 0, 0) < 0 ? strerrorname_np(errno) : "ok");
  printf("wait on a socket: %s\n", epoll_wait(sv[0], out, 1, 0) < 0 ? strerrorname_np(errno) : "ok");
  printf("read an epoll fd: %s\n", read(ep, out, sizeof out) < 0 ? strerrorname_np(errno) : "ok");
  close(sv[0]);
  close(sv[1]);
  close(ep);
}

static void loops(void) {
  const int a = epoll_create1(0), b = epoll_create1(0);
  ctl("a in b", b, EPOLL_CTL_ADD, a, EPOLLIN, 1);
  ctl("b in a", a, EPOLL_CTL_ADD, b, EPOLLIN, 2);
  /* A chain e[0] in e[1] in ... : how deep Linux lets it go. */
  int e[8];
  for (int i = 0; i < 8; ++i) e[i] = epoll_create1(0);
  for (int i = 1; i < 8; ++i) {
    char what[32];
    snprintf(what, sizeof what, "chain %d", i);
    ctl(what, e[i], EPOLL_CTL_ADD, e[i - 1], EPOLLIN, (unsigned long)i);
  }
  for (int i = 0; i < 8; ++i) close(e[i]);
  close(a);
  close(b);
}

static void level_edge_oneshot(void) {
  const int ep = epoll_create1(0);
  int lt[2], et[2], os[2];
  pair(lt);
  pair(et);
  pair(os);
  ctl("add lt", ep, EPOLL_CTL_ADD, lt[0], EPOLLIN, 1);
  ctl("add et", ep, EPOLL_CTL_ADD, et[0], EPOLLIN | EPOLLOUT | EPOLLET, 2);
  ctl("add oneshot", ep, EPOLL_CTL_ADD, os[0], EPOLLIN | EPOLLONESHOT, 3);
  wait_for("writable only", ep, 16);
  wait_for("again", ep, 16);
  put(lt[1]);
  put(et[1]);
  put(os[1]);
  wait_for("data", ep, 16);
  wait_for("data again", ep, 16);
  put(et[1]);
  put(os[1]);
  wait_for("more data", ep, 16);
  ctl("mod oneshot", ep, EPOLL_CTL_MOD, os[0], EPOLLIN | EPOLLONESHOT, 3);
  ctl("mod et", ep, EPOLL_CTL_MOD, et[0], EPOLLIN | EPOLLET, 2);
  wait_for("after mod", ep, 16);
  take(lt[0]);
  take(et[0]);
  take(os[0]);
  wait_for("drained", ep, 16);
  close(lt[1]);
  wait_for("peer closed", ep, 16);
  ctl("mod no events", ep, EPOLL_CTL_MOD, lt[0], 0, 1);
  wait_for("hangup unasked", ep, 16);
  for (int i = 0; i < 2; ++i) {
    close(et[i]);
    close(os[i]);
  }
  close(lt[0]);
  close(ep);
}

static void rotation(void) {
  const int ep = epoll_create1(0);
  int s[3][2];
  for (int i = 0; i < 3; ++i) {
    pair(s[i]);
    ctl("add", ep, EPOLL_CTL_ADD, s[i][0], EPOLLIN, (unsigned long)i + 1);
    put(s[i][1]);
  }
  for (int i = 0; i < 4; ++i) wait_for("max 1", ep, 1);
  wait_for("max 2", ep, 2);
  wait_for("max 2", ep, 2);
  for (int i = 0; i < 3; ++i) {
    close(s[i][0]);
    close(s[i][1]);
  }
  close(ep);
}

static void descriptors(void) {
  const int ep = epoll_create1(0);
  int sv[2];
  pair(sv);
  const int copy = dup(sv[0]);
  ctl("add", ep, EPOLL_CTL_ADD, sv[0], EPOLLIN, 7);
  close(sv[0]);
  put(sv[1]);
  wait_for("registered fd closed, dup open", ep, 16);
  ctl("del closed fd", ep, EPOLL_CTL_DEL, sv[0], 0, 0);
  ctl("add the dup", ep, EPOLL_CTL_ADD, copy, EPOLLIN, 8);
  wait_for("both", ep, 16);
  close(copy);
  wait_for("last closed", ep, 16);
  const int ep2 = dup(ep);
  int p[2];
  if (pipe(p) != 0) exit(1);
  ctl("add pipe through dup", ep2, EPOLL_CTL_ADD, p[0], EPOLLIN, 9);
  put(p[1]);
  wait_for("pipe via original", ep, 16);
  close(ep2);
  const int ev = eventfd(0, EFD_NONBLOCK);
  ctl("add eventfd", ep, EPOLL_CTL_ADD, ev, EPOLLIN | EPOLLET, 10);
  const unsigned long long one = 1;
  if (write(ev, &one, sizeof one) != sizeof one) exit(1);
  wait_for("eventfd", ep, 16);
  wait_for("eventfd again", ep, 16);
  close(ev);
  close(p[0]);
  close(p[1]);
  close(sv[1]);
  close(ep);
}

static void nested(void) {
  const int inner = epoll_create1(0), outer = epoll_create1(0);
  int sv[2];
  pair(sv);
  ctl("add socket to inner", inner, EPOLL_CTL_ADD, sv[0], EPOLLIN, 1);
  ctl("add inner to outer", outer, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLET, 2);
  wait_for("outer idle", outer, 16);
  put(sv[1]);
  wait_for("outer", outer, 16);
  wait_for("outer again (et)", outer, 16);
  wait_for("inner", inner, 16);
  close(sv[0]);
  close(sv[1]);
  close(inner);
  close(outer);
}

static void across_fork(void) {
  const int ep = epoll_create1(0);
  int sv[2];
  pair(sv);
  fflush(stdout);
  const pid_t child = fork();
  if (child == 0) {
    ctl("child adds", ep, EPOLL_CTL_ADD, sv[0], EPOLLIN | EPOLLONESHOT, 11);
    put(sv[1]);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  wait_for("parent sees the child's", ep, 16);
  ctl("parent adds the same", ep, EPOLL_CTL_ADD, sv[0], EPOLLIN, 12);
  ctl("parent mods", ep, EPOLL_CTL_MOD, sv[0], EPOLLIN, 12);
  wait_for("parent", ep, 16);
  close(sv[0]);
  close(sv[1]);
  close(ep);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  errors();
  loops();
  level_edge_oneshot();
  rotation();
  descriptors();
  nested();
  across_fork();
  printf("done\n");
  return 0;
}
