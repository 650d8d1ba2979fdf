/* console.c - ptys, console socket, controlling terminal, proxy. */
#include "runtime/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int cell_console_new(int *master, int *slave, char *slave_name, size_t n, struct cell_err *err) {
  *master = *slave = -1;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return cell_error(err, errno, "posix_openpt /dev/ptmx");
  if (grantpt(m) < 0) {
    int e = errno;
    close(m);
    return cell_error(err, e, "grantpt");
  }
  if (unlockpt(m) < 0) {
    int e = errno;
    close(m);
    return cell_error(err, e, "unlockpt");
  }
  char name[128];
  int r = ptsname_r(m, name, sizeof name);
  if (r != 0) {
    close(m);
    return cell_error(err, r, "ptsname_r");
  }
  if (strlen(name) >= n) {
    close(m);
    return cell_error(err, ENAMETOOLONG, "pty name %s", name);
  }
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    return cell_error(err, e, "opening pty slave %s", name);
  }
  strcpy(slave_name, name);
  *master = m;
  *slave = s;
  return 0;
}

int cell_console_send(const char *socket_path, int master_fd, const char *name,
                      struct cell_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (!socket_path || strlen(socket_path) >= sizeof sa.sun_path)
    return cell_error(err, ENAMETOOLONG, "console socket path %s", socket_path ? socket_path : "");
  strcpy(sa.sun_path, socket_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return cell_error(err, errno, "console socket: socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    return cell_error(err, e, "connecting to console socket %s", socket_path);
  }
  const char *msg = name && *name ? name : "/dev/ptmx";
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master_fd, sizeof(int));
  ssize_t w;
  do w = sendmsg(s, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  int e = errno;
  close(s);
  if (w < 0) return cell_error(err, e, "sending the pty master to console socket %s", socket_path);
  if ((size_t)w != iov.iov_len)
    return cell_error(err, EIO, "short write to console socket %s", socket_path);
  return 0;
}

int cell_console_recv(int sock, int *fd, char *name, size_t n, struct cell_err *err) {
  *fd = -1;
  char data[4096];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * 8)];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  ssize_t r;
  do r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return cell_error(err, errno, "console socket: recvmsg");
  data[r] = 0;
  int fds[8], nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k && nfds < 8; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (nfds != 1 || (mh.msg_flags & MSG_CTRUNC)) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    return cell_error(err, EBADMSG, "console socket: expected exactly one fd, got %d%s", nfds,
                      (mh.msg_flags & MSG_CTRUNC) ? " (truncated)" : "");
  }
  if (name && n) snprintf(name, n, "%s", data);
  *fd = fds[0];
  return 0;
}

int cell_console_set_size(int fd, unsigned height, unsigned width, struct cell_err *err) {
  if (height > 65535 || width > 65535)
    return cell_error(err, EINVAL, "process.consoleSize: %ux%u is out of range", height, width);
  struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
    return cell_error(err, errno, "process.consoleSize: TIOCSWINSZ %ux%u", height, width);
  return 0;
}

int cell_console_make_controlling(int slave_fd, struct cell_err *err) {
  if (setsid() < 0) return cell_error(err, errno, "setsid");
  if (ioctl(slave_fd, TIOCSCTTY, 0) < 0) return cell_error(err, errno, "ioctl(TIOCSCTTY)");
  for (int i = 0; i < 3; i++)
    if (slave_fd != i && dup2(slave_fd, i) < 0)
      return cell_error(err, errno, "dup2 console onto fd %d", i);
  if (slave_fd > 2) close(slave_fd);
  return 0;
}

/* ---------- proxy ---------- */

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = {fd, POLLOUT, 0};
      poll(&pf, 1, 100);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      return -1;
    }
  }
  return 0;
}

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

/* read what the master has without blocking; false at EOF/EIO */
static bool pump_master(int master, int out) {
  char buf[8192];
  for (;;) {
    ssize_t r = read(master, buf, sizeof buf);
    if (r > 0) {
      if (write_all(out, buf, (size_t)r) < 0) return false;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    return r < 0 && errno == EAGAIN;
  }
}

int cell_console_proxy(int master, pid_t child, int in_fd, int out_fd, int *status,
                       struct cell_err *err) {
  int rc = -1, sigfd = -1, pidfd = -1;
  bool raw = false;
  struct termios saved;
  sigset_t winch, oldmask;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigprocmask(SIG_BLOCK, &winch, &oldmask);
  int mflags = fcntl(master, F_GETFL);
  if (mflags < 0) {
    cell_error(err, errno, "console proxy: fcntl(master)");
    goto out;
  }
  fcntl(master, F_SETFL, mflags | O_NONBLOCK);
  bool in_tty = in_fd >= 0 && isatty(in_fd);
  if (in_tty) {
    if (tcgetattr(in_fd, &saved) == 0) {
      struct termios t = saved;
      cfmakeraw(&t);
      if (tcsetattr(in_fd, TCSANOW, &t) == 0) raw = true;
    }
    copy_winsize(in_fd, master);
    sigfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  char ibuf[4096];
  size_t ilen = 0, ioff = 0;
  bool in_open = in_fd >= 0, m_open = true, exited = false, send_eof = false;
  int wstatus = 0;
  while (!exited) {
    struct pollfd pf[4];
    int n = 0, iin = -1, im = -1, ip = -1, is = -1;
    if (in_open && ilen == 0 && !send_eof) { pf[n] = (struct pollfd){in_fd, POLLIN, 0}; iin = n++; }
    if (m_open) {
      short ev = POLLIN;
      if (ilen > 0 || send_eof) ev |= POLLOUT;
      pf[n] = (struct pollfd){master, ev, 0};
      im = n++;
    }
    if (pidfd >= 0) { pf[n] = (struct pollfd){pidfd, POLLIN, 0}; ip = n++; }
    if (sigfd >= 0) { pf[n] = (struct pollfd){sigfd, POLLIN, 0}; is = n++; }
    int pr = poll(pf, (nfds_t)n, pidfd >= 0 ? -1 : 50);
    if (pr < 0) {
      if (errno == EINTR) continue;
      cell_error(err, errno, "console proxy: poll");
      goto out;
    }
    if (iin >= 0 && pf[iin].revents) {
      ssize_t r = read(in_fd, ibuf, sizeof ibuf);
      if (r > 0) {
        ilen = (size_t)r;
        ioff = 0;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_open = false;
        send_eof = true; /* pass EOF on to the pty */
      }
    }
    if (im >= 0 && pf[im].revents) {
      if ((pf[im].revents & POLLOUT) && ilen > 0) {
        ssize_t w = write(master, ibuf + ioff, ilen);
        if (w > 0) {
          ioff += (size_t)w;
          ilen -= (size_t)w;
        }
      } else if ((pf[im].revents & POLLOUT) && send_eof) {
        struct termios t;
        char eof = 4;
        if (tcgetattr(master, &t) == 0 && t.c_cc[VEOF]) eof = (char)t.c_cc[VEOF];
        if (write(master, &eof, 1) == 1 || errno != EAGAIN) send_eof = false;
      }
      if (pf[im].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!pump_master(master, out_fd)) m_open = false; /* slave closed everywhere */
        else if ((pf[im].revents & (POLLHUP | POLLERR)) && !(pf[im].revents & POLLIN))
          m_open = false;
      }
    }
    if (is >= 0 && pf[is].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {}
      copy_winsize(in_fd, master);
    }
    if (ip < 0 || pf[ip].revents) {
      pid_t w = waitpid(child, &wstatus, ip < 0 ? WNOHANG : 0);
      if (w == child) exited = true;
      else if (w < 0 && errno != EINTR) {
        cell_error(err, errno, "console proxy: waitpid %d", (int)child);
        goto out;
      }
    }
  }
  if (m_open) pump_master(master, out_fd);
  if (status) *status = wstatus;
  rc = 0;
out:
  if (raw) tcsetattr(in_fd, TCSANOW, &saved);
  if (mflags >= 0) fcntl(master, F_SETFL, mflags);
  if (sigfd >= 0) close(sigfd);
  if (pidfd >= 0) close(pidfd);
  sigprocmask(SIG_SETMASK, &oldmask, NULL);
  return rc;
}
