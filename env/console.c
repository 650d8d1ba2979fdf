/* console.c - the init's console: a pty whose master the reaper process
 * (monitor.c) keeps.  It copies what the console prints to
 * ROOT/vps/NAME/console.log (restarted past 1 MiB) and to the clients of
 * RUN/env-run/NAME/console (a unix socket, root only), and their input to the
 * console: `cellctl console NAME` is one such client, Ctrl-] detaches it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "env/env.h"
#include "env/env_internal.h"

#define CONSOLE_CLIENTS 8
#define CONSOLE_LOG_MAX (1 << 20)

static int console_path(const struct env *e, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  return snprintf(sa->sun_path, sizeof sa->sun_path, "%s/console", e->aux) >= (int)sizeof sa->sun_path ? -1 : 0;
}

static void log_write(int logfd, const char *buf, size_t n) {
  struct stat sb;
  if (logfd < 0) return;
  if (fstat(logfd, &sb) == 0 && sb.st_size > CONSOLE_LOG_MAX) (void)!ftruncate(logfd, 0);
  (void)!write(logfd, buf, n);
}

/* Serve the console until the init exits; returns its wait status. */
int env_console_serve(struct env *e, pid_t init, int master, int logfd) {
  struct sockaddr_un sa;
  int lfd = -1;
  if (console_path(e, &sa) == 0 && (lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0) {
    unlink(sa.sun_path);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(sa.sun_path, 0600) < 0 || listen(lfd, 4) < 0) {
      close(lfd);
      lfd = -1;
    }
  }
  int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
  int clients[CONSOLE_CLIENTS];
  for (int i = 0; i < CONSOLE_CLIENTS; i++) clients[i] = -1;
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  char buf[8192];
  bool hup = false;
  for (;;) {
    struct pollfd pf[3 + CONSOLE_CLIENTS];
    int n = 0, im = -1, il = -1, ip = -1, ic[CONSOLE_CLIENTS];
    if (!hup) { pf[n] = (struct pollfd){master, POLLIN, 0}; im = n++; }
    if (lfd >= 0) { pf[n] = (struct pollfd){lfd, POLLIN, 0}; il = n++; }
    if (pidfd >= 0) { pf[n] = (struct pollfd){pidfd, POLLIN, 0}; ip = n++; }
    for (int i = 0; i < CONSOLE_CLIENTS; i++) {
      ic[i] = -1;
      if (clients[i] >= 0) { pf[n] = (struct pollfd){clients[i], POLLIN, 0}; ic[i] = n++; }
    }
    /* a hung-up master (no slave open yet, or any more) is polled again later */
    int r = poll(pf, (nfds_t)n, hup || pidfd < 0 ? 200 : -1);
    hup = false;
    if (r < 0 && errno != EINTR) break;
    if (ip >= 0 && pf[ip].revents) break;
    if (pidfd < 0 && waitpid(init, NULL, WNOHANG | __WNOTHREAD) != 0) break;
    if (im >= 0 && pf[im].revents) {
      ssize_t k = read(master, buf, sizeof buf);
      if (k > 0) {
        log_write(logfd, buf, (size_t)k);
        for (int i = 0; i < CONSOLE_CLIENTS; i++)
          if (clients[i] >= 0 && send(clients[i], buf, (size_t)k, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            close(clients[i]);
            clients[i] = -1;
          }
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        hup = true;
      }
    }
    if (il >= 0 && (pf[il].revents & POLLIN)) {
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      int slot = -1;
      for (int i = 0; i < CONSOLE_CLIENTS && c >= 0 && slot < 0; i++)
        if (clients[i] < 0) slot = i;
      if (slot >= 0) clients[slot] = c;
      else if (c >= 0) close(c);
    }
    for (int i = 0; i < CONSOLE_CLIENTS; i++) {
      if (ic[i] < 0 || !pf[ic[i]].revents) continue;
      ssize_t k = read(clients[i], buf, sizeof buf);
      if (k <= 0) {
        close(clients[i]);
        clients[i] = -1;
      } else {
        for (ssize_t off = 0; off < k;) {
          ssize_t w = write(master, buf + off, (size_t)(k - off));
          if (w > 0) off += w;
          else if (errno == EAGAIN) usleep(1000);
          else break;
        }
      }
    }
  }
  int status = 0;
  while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
  }
  for (int i = 0; i < CONSOLE_CLIENTS; i++)
    if (clients[i] >= 0) close(clients[i]);
  if (lfd >= 0) {
    close(lfd);
    unlink(sa.sun_path);
  }
  if (pidfd >= 0) close(pidfd);
  close(master);
  return status;
}

int env_console_attach(struct env *e, int detach_key, struct cell_err *err) {
  struct sockaddr_un sa;
  if (console_path(e, &sa) < 0) return cell_error(err, ENAMETOOLONG, "console of %s", e->name);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return cell_error(err, errno, "socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int en = errno;
    close(s);
    return cell_error(err, en, "environment \"%s\": no console (not running, or reboot = stop)", e->name);
  }
  struct termios saved, t;
  bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
  }
  char buf[4096];
  bool in_open = true, detached = false;
  for (;;) {
    struct pollfd pf[2] = {{s, POLLIN, 0}, {0, POLLIN, 0}};
    if (poll(pf, in_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[0].revents) {
      ssize_t k = read(s, buf, sizeof buf);
      if (k <= 0) break;
      (void)!write(1, buf, (size_t)k);
    }
    if (in_open && pf[1].revents) {
      ssize_t k = read(0, buf, sizeof buf);
      if (k <= 0) {
        in_open = false;
        continue;
      }
      char *d = memchr(buf, detach_key, (size_t)k);
      if (d) k = d - buf;
      if (k > 0 && write(s, buf, (size_t)k) < 0) break;
      if (d) {
        detached = true;
        break;
      }
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
  close(s);
  fprintf(stderr, detached ? "\r\n[detached from %s]\r\n" : "\r\n[console of %s closed]\r\n", e->name);
  return 0;
}
