/* test_console.c - pty allocation, console socket, controlling tty, proxy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/console.h"
#include "unit.h"

static int listen_at(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -1;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 4) < 0) return -1;
  return s;
}

static size_t read_all(int fd, char *buf, size_t n) {
  size_t off = 0;
  ssize_t r;
  while (off < n - 1 && (r = read(fd, buf + off, n - 1 - off)) > 0) off += (size_t)r;
  buf[off] = 0;
  return off;
}

int main(void) {
  struct cell_err err = {0};
  int m = -1, s = -1;
  char name[128] = "";

  /* ---- new pty ---- */
  CHECK(cell_console_new(&m, &s, name, sizeof name, &err) == 0, "pty allocated");
  CHECK(strncmp(name, "/dev/pts/", 9) == 0, "slave name is /dev/pts/N");
  CHECK(isatty(s) && (fcntl(m, F_GETFD) & FD_CLOEXEC) && (fcntl(s, F_GETFD) & FD_CLOEXEC),
        "both ends are ttys opened O_CLOEXEC");
  unsigned ptn = 0;
  CHECK(ioctl(m, TIOCGPTN, &ptn) == 0 && (unsigned)atoi(name + 9) == ptn,
        "slave name matches the master's pty number");
  char small[4];
  int m2 = -1, s2 = -1;
  CHECK(cell_console_new(&m2, &s2, small, sizeof small, &err) < 0 && m2 == -1 && s2 == -1,
        "too small name buffer is an error");

  /* ---- size ---- */
  CHECK(cell_console_set_size(m, 40, 120, &err) == 0, "set size");
  struct winsize ws = {0};
  ioctl(s, TIOCGWINSZ, &ws);
  CHECK(ws.ws_row == 40 && ws.ws_col == 120, "slave sees 40x120");
  CHECK(cell_console_set_size(m, 70000, 1, &err) < 0 &&
            strstr(err.msg, "process.consoleSize: 70000x1 is out of range"),
        "oversized console size rejected");

  /* ---- console socket ---- */
  char dir[] = "/tmp/cell-console-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "temp dir");
  char sock[256];
  snprintf(sock, sizeof sock, "%s/console.sock", dir);
  int l = listen_at(sock);
  CHECK(l >= 0, "listening console socket");
  /* connect completes against the backlog, so sending before accept works */
  CHECK(cell_console_send(sock, m, name, &err) == 0, "master sent to the console socket");
  int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  /* receive by hand to count fds and bytes independently of cell_console_recv */
  char data[256];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  ssize_t r = recvmsg(a, &mh, 0);
  CHECK(r == (ssize_t)strlen(name), "message data is the pty name, without NUL");
  data[r > 0 ? r : 0] = 0;
  CHECK_STR(data, name, "received name");
  int nfds = 0, got = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(&got, CMSG_DATA(c), sizeof(int));
    }
  CHECK(nfds == 1, "exactly one fd received");
  unsigned ptn2 = 0;
  CHECK(got >= 0 && ioctl(got, TIOCGPTN, &ptn2) == 0 && ptn2 == ptn,
        "received fd is the same pty master");
  CHECK(write(s, "hi\n", 3) == 3, "write to slave");
  char rb[64] = "";
  ssize_t rn = read(got, rb, sizeof rb - 1);
  CHECK(rn > 0 && strstr(rb, "hi"), "data written to the slave is readable from the received fd");
  close(got);
  close(a);
  /* cell_console_recv on a second message */
  CHECK(cell_console_send(sock, m, "label", &err) == 0, "second send");
  a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  char rname[64];
  int rfd = -1;
  CHECK(cell_console_recv(a, &rfd, rname, sizeof rname, &err) == 0 && rfd >= 0 &&
            !strcmp(rname, "label"),
        "cell_console_recv returns the fd and name");
  if (rfd >= 0) close(rfd);
  close(a);
  char nosock[300];
  snprintf(nosock, sizeof nosock, "%s/missing.sock", dir);
  CHECK(cell_console_send(nosock, m, name, &err) < 0 &&
            strstr(err.msg, "connecting to console socket") && strstr(err.msg, "missing.sock") &&
            strstr(err.msg, "No such file or directory"),
        "missing console socket: clear error");
  close(l);
  unlink(sock);
  rmdir(dir);

  /* ---- controlling terminal + proxy ---- */
  int in[2], out[2];
  if (pipe(in) < 0 || pipe(out) < 0) return 1;
  CHECK(write(in[1], "ping\n", 5) == 5, "queue input");
  close(in[1]);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(m);
    struct cell_err e2 = {0};
    if (cell_console_make_controlling(s, &e2) < 0) {
      fprintf(stderr, "%s\n", e2.msg);
      _exit(100);
    }
    char line[64] = "";
    if (!fgets(line, sizeof line, stdin)) _exit(101);
    line[strcspn(line, "\n")] = 0;
    const char *tn = ttyname(0);
    printf("got:%s tty:%s ctty:%d\n", line, tn ? tn : "-",
           tcgetsid(0) == getpid() && getsid(0) == getpid());
    fflush(stdout);
    _exit(3);
  }
  close(s);
  int st = -1;
  CHECK(cell_console_proxy(m, pid, in[0], out[1], &st, &err) == 0, "proxy ran");
  close(out[1]);
  close(in[0]);
  char obuf[4096];
  read_all(out[0], obuf, sizeof obuf);
  close(out[0]);
  char want[256];
  snprintf(want, sizeof want, "got:ping tty:%s ctty:1", name);
  CHECK(strstr(obuf, want) != NULL, "child read proxied stdin on its controlling pty");
  if (!strstr(obuf, want)) printf("# output: %s\n", obuf);
  CHECK(strstr(obuf, "ping\r\n") != NULL, "pty echo came back through the proxy");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "proxy returned the child's exit status");
  close(m);

  /* ---- proxy with a terminal as input: raw mode, window size, SIGWINCH ---- */
  int tm, ts, cm, cs;
  char tname[128], cname[128];
  CHECK(cell_console_new(&tm, &ts, tname, sizeof tname, &err) == 0 &&
            cell_console_new(&cm, &cs, cname, sizeof cname, &err) == 0,
        "two ptys");
  struct termios before, after;
  tcgetattr(ts, &before);
  cell_console_set_size(ts, 33, 77, &err);
  if (pipe(out) < 0) return 1;
  int rd[2], pd[2];
  if (pipe(rd) < 0 || pipe(pd) < 0) return 1;
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGWINCH);
    sigprocmask(SIG_BLOCK, &w, NULL);
    close(cm);
    close(tm);
    close(ts);
    struct cell_err e2 = {0};
    if (cell_console_make_controlling(cs, &e2) < 0) _exit(100);
    /* No sleeps: wait (up to 10 s) for the proxy to copy the initial size,
     * then tell the helper and the probe that the proxy is running. */
    struct winsize z = {0};
    for (int i = 0; i < 1000 && (ioctl(0, TIOCGWINSZ, &z), z.ws_row == 0); i++) usleep(10000);
    printf("size %u %u\n", z.ws_row, z.ws_col);
    fflush(stdout);
    if (write(rd[1], "go", 2) != 2) _exit(101);
    /* the initial size copy may itself raise SIGWINCH: wait for the new size */
    int sig = 0;
    for (int i = 0; i < 100; i++) {
      struct timespec to = {0, 100000000};
      if (sigtimedwait(&w, NULL, &to) == SIGWINCH) sig = SIGWINCH;
      ioctl(0, TIOCGWINSZ, &z);
      if (sig == SIGWINCH && z.ws_row == 50) break;
    }
    printf("winch %d size %u %u\n", sig == SIGWINCH, z.ws_row, z.ws_col);
    fflush(stdout);
    /* stay until the probe has looked at the input terminal's mode */
    struct pollfd pp = {.fd = pd[0], .events = POLLIN};
    poll(&pp, 1, 10000);
    _exit(0);
  }
  close(cs);
  pid_t parent = getpid();
  pid_t helper = fork();
  if (helper == 0) {
    char b;
    struct pollfd pf = {.fd = rd[0], .events = POLLIN};
    if (poll(&pf, 1, 10000) != 1 || read(rd[0], &b, 1) != 1) _exit(1);
    struct winsize z = {.ws_row = 50, .ws_col = 150};
    ioctl(ts, TIOCSWINSZ, &z);
    kill(parent, SIGWINCH);
    _exit(0);
  }
  /* check raw mode from a third process while the proxy runs */
  int rp[2];
  if (pipe(rp) < 0) return 1;
  pid_t probe = fork();
  if (probe == 0) {
    char b;
    struct pollfd pf = {.fd = rd[0], .events = POLLIN};
    if (poll(&pf, 1, 10000) != 1 || read(rd[0], &b, 1) != 1) _exit(1);
    struct termios t;
    char c = (tcgetattr(ts, &t) == 0 && !(t.c_lflag & (ICANON | ECHO))) ? 'R' : 'C';
    if (write(rp[1], &c, 1) < 0) _exit(1);
    if (write(pd[1], "x", 1) < 0) _exit(1);
    _exit(0);
  }
  close(rp[1]);
  close(rd[0]);
  close(rd[1]);
  close(pd[0]);
  close(pd[1]);
  st = -1;
  CHECK(cell_console_proxy(cm, pid, ts, out[1], &st, &err) == 0, "tty proxy ran");
  close(out[1]);
  read_all(out[0], obuf, sizeof obuf);
  close(out[0]);
  waitpid(helper, NULL, 0);
  waitpid(probe, NULL, 0);
  char rc = 0;
  CHECK(read(rp[0], &rc, 1) == 1 && rc == 'R', "input terminal is raw while proxying");
  close(rp[0]);
  tcgetattr(ts, &after);
  CHECK(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag &&
            after.c_oflag == before.c_oflag,
        "input terminal mode restored afterwards");
  CHECK(strstr(obuf, "size 33 77") != NULL, "initial window size copied to the pty");
  CHECK(strstr(obuf, "winch 1 size 50 150") != NULL, "SIGWINCH forwarded with the new size");
  if (!strstr(obuf, "winch 1 size 50 150")) printf("# output: %s\n", obuf);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tty proxy child exit status");
  close(cm);
  close(tm);
  close(ts);
  UNIT_DONE();
}
