/* dns.c - a dnsmasq per network answering its environments' names.  See
 * dns.h for the files and the life cycle. */
#include "netns/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/strbuf.h"

#define DNS_START_TIMEOUT_MS 5000
#define DNS_STOP_TIMEOUT_MS 3000
#define DNS_MAX_LISTEN 8

static bool net_ok(const char *s) {
  if (!s || !*s || s[0] == '.' || strlen(s) > 64) return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
          *p == '.' || *p == '-'))
      return false;
  return true;
}

static bool hostname_ok(const char *s) {
  if (!s || !*s || strlen(s) > 253 || s[0] == '.' || s[0] == '-') return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
          *p == '-'))
      return false;
  return true;
}

static bool ip_ok(const char *s) {
  unsigned char b[16];
  return s && (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1);
}

static int dns_dir(char *out, size_t n, const char *rundir, const char *network, struct cell_err *err) {
  if (!net_ok(network)) return cell_error(err, EINVAL, "dns: network name '%s' is invalid", network ? network : "");
  if (!rundir || !*rundir) return cell_error(err, EINVAL, "dns: no run directory");
  if (snprintf(out, n, "%s/dns-%s", rundir, network) >= (int)n)
    return cell_error(err, ENAMETOOLONG, "dns: %s/dns-%s", rundir, network);
  return 0;
}

/* Field 22 of /proc/PID/stat: the start time in clock ticks, 0 if gone. */
static unsigned long long proc_start_time(pid_t pid, char *state) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (cell_read_small(path, buf, sizeof buf) <= 0) return 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) return 0;
  if (state) *state = p[2];
  unsigned long long v = 0;
  for (int field = 2; *p; p++)
    if (*p == ' ' && ++field == 22) {
      v = strtoull(p + 1, NULL, 10);
      break;
    }
  return v;
}

/* Is pid the dnsmasq started at start_time (alive, not a zombie)? */
static bool is_our_dnsmasq(pid_t pid, unsigned long long start_time) {
  char state = 0;
  if (pid <= 0 || proc_start_time(pid, &state) != start_time || start_time == 0 || state == 'Z') return false;
  char path[64], exe[PATH_MAX];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  ssize_t l = readlink(path, exe, sizeof exe - 1);
  if (l <= 0) return false;
  exe[l] = 0;
  const char *base = strrchr(exe, '/');
  base = base ? base + 1 : exe;
  return strncmp(base, "dnsmasq", 7) == 0;
}

/* The pid recorded in DIR/pid when it is still that dnsmasq, else 0. */
static pid_t recorded_pid(const char *dir) {
  char path[PATH_MAX], buf[128];
  snprintf(path, sizeof path, "%s/pid", dir);
  if (cell_read_small(path, buf, sizeof buf) <= 0) return 0;
  int pid = 0;
  unsigned long long st = 0;
  if (sscanf(buf, "%d %llu", &pid, &st) != 2) return 0;
  return is_our_dnsmasq(pid, st) ? pid : 0;
}

pid_t netns_dns_pid(const char *rundir, const char *network) {
  char dir[PATH_MAX];
  struct cell_err err;
  if (dns_dir(dir, sizeof dir, rundir, network, &err) < 0) return 0;
  return recorded_pid(dir);
}

/* dnsmasq drops to nobody: every directory down to dir must be searchable
 * by others, or it cannot re-read its hosts file. */
static int check_searchable(const char *dir, struct cell_err *err) {
  char p[PATH_MAX];
  if (!realpath(dir, p)) return cell_error(err, errno, "dns: realpath %s", dir);
  for (size_t len = strlen(p);;) {
    p[len] = 0;
    struct stat st;
    if (stat(len ? p : "/", &st) < 0) return cell_error(err, errno, "dns: stat %s", len ? p : "/");
    if (!(st.st_mode & S_IXOTH))
      return cell_error(err, EACCES,
                        "dns: %s is not searchable by others (mode %03o); dnsmasq runs as nobody and reads %s/hosts",
                        len ? p : "/", (unsigned)(st.st_mode & 0777), dir);
    if (len == 0) break;
    while (len > 0 && p[len - 1] != '/') len--;
    if (len > 0) len--; /* drop the slash; 0 means "/" */
  }
  return 0;
}

static int write_hosts(const char *dir, const struct netns_dns_host *hosts, size_t n, struct cell_err *err) {
  cleanup_strbuf struct strbuf sb = STRBUF_INIT(16u << 20);
  strbuf_puts(&sb, "");
  for (size_t i = 0; i < n; i++) {
    if (!hostname_ok(hosts[i].name))
      return cell_error(err, EINVAL, "dns: host name '%s' is invalid", hosts[i].name ? hosts[i].name : "");
    if (!ip_ok(hosts[i].addr))
      return cell_error(err, EINVAL, "dns: address '%s' of %s is not an IP address", hosts[i].addr ? hosts[i].addr : "",
                        hosts[i].name);
    strbuf_printf(&sb, "%s %s\n", hosts[i].addr, hosts[i].name);
  }
  if (sb.err) return cell_error(err, sb.err, "dns: hosts file for %s", dir);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return cell_error(err, errno, "dns: open %s", dir);
  if (cell_write_atomic_at(dfd, "hosts", sb.buf ? sb.buf : "", sb.len, 0644, err) < 0)
    return cell_error_wrap(err, "dns: %s", dir);
  return 0;
}

/* The child side: a new session, std fds to /dev/null and the log, no
 * other fds, then dnsmasq.  Only async-signal-safe calls. */
static void exec_dnsmasq(int logfd, char **argv) {
  setsid();
  int nul = open("/dev/null", O_RDWR);
  if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(126);
  syscall(SYS_close_range, 3U, ~0U, 0U);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(argv[0], argv);
  _exit(127);
}

/* fork twice so dnsmasq is not the caller's child (no zombie to reap);
 * its pid comes back through a pipe. */
static pid_t spawn_detached(int logfd, char **argv, struct cell_err *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return cell_error(err, errno, "dns: pipe");
  pid_t mid = fork();
  if (mid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return cell_error(err, e, "dns: fork");
  }
  if (mid == 0) {
    close(p[0]);
    pid_t c = fork();
    if (c == 0) exec_dnsmasq(logfd, argv);
    int v = c < 0 ? -errno : c;
    if (write(p[1], &v, sizeof v) != sizeof v) _exit(1);
    _exit(0);
  }
  close(p[1]);
  int v = 0;
  ssize_t r;
  do r = read(p[0], &v, sizeof v);
  while (r < 0 && errno == EINTR);
  close(p[0]);
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (r != sizeof v) return cell_error(err, EIO, "dns: no pid from the forked child");
  if (v < 0) return cell_error(err, -v, "dns: fork");
  return v;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Wait until dnsmasq wrote its own pid file (it does once its sockets are
 * set up) or died. */
static int wait_ready(const char *dir, pid_t pid, unsigned long long st, struct cell_err *err) {
  char ready[PATH_MAX];
  snprintf(ready, sizeof ready, "%s/dnsmasq.pid", dir);
  for (int waited = 0; waited < DNS_START_TIMEOUT_MS; waited += 10) {
    char state = 0;
    bool alive = proc_start_time(pid, &state) == st && state != 'Z';
    if (!alive) {
      char logp[PATH_MAX], buf[600];
      snprintf(logp, sizeof logp, "%s/log", dir);
      if (cell_read_small(logp, buf, sizeof buf) <= 0) snprintf(buf, sizeof buf, "(no output)");
      for (char *q = buf; *q; q++)
        if (*q == '\n') *q = ' ';
      return cell_error(err, 0, "dns: dnsmasq exited at start: %s", buf);
    }
    if (access(ready, F_OK) == 0) return 0;
    sleep_ms(10);
  }
  kill(pid, SIGKILL);
  return cell_error(err, ETIMEDOUT, "dns: dnsmasq did not get ready in %d ms (see %s/log)", DNS_START_TIMEOUT_MS, dir);
}

static int build_argv(char **argv, size_t max, char *store, size_t storelen, const char *dir, const char *listen,
                      struct cell_err *err) {
  size_t n = 0, off = 0;
#define ADD(...)                                                                                  \
  do {                                                                                            \
    int w_ = snprintf(store + off, storelen - off, __VA_ARGS__);                                  \
    if (w_ < 0 || (size_t)w_ >= storelen - off || n + 1 >= max)                                   \
      return cell_error(err, E2BIG, "dns: dnsmasq arguments too long");                           \
    argv[n++] = store + off;                                                                      \
    off += (size_t)w_ + 1;                                                                        \
  } while (0)
  ADD("dnsmasq");
  ADD("--keep-in-foreground");
  ADD("--conf-file=/dev/null");
  ADD("--no-resolv");
  ADD("--no-hosts");
  ADD("--no-poll");
  ADD("--bind-dynamic");
  ADD("--user=nobody");
  ADD("--group=nogroup");
  ADD("--log-facility=-");
  ADD("--pid-file=%s/dnsmasq.pid", dir);
  ADD("--addn-hosts=%s/hosts", dir);
  char copy[256];
  if (snprintf(copy, sizeof copy, "%s", listen) >= (int)sizeof copy)
    return cell_error(err, E2BIG, "dns: listen addresses '%s' too long", listen);
  int nl = 0;
  for (char *save = NULL, *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
    if (!ip_ok(a)) return cell_error(err, EINVAL, "dns: listen address '%s' is not an IP address", a);
    if (++nl > DNS_MAX_LISTEN) return cell_error(err, E2BIG, "dns: more than %d listen addresses", DNS_MAX_LISTEN);
    ADD("--listen-address=%s", a);
  }
  if (nl == 0) return cell_error(err, EINVAL, "dns: no listen address");
#undef ADD
  argv[n] = NULL;
  return 0;
}

int netns_dns_start(const char *rundir, const char *network, const char *listen_addr, const char *bridge,
                    struct cell_err *err) {
  char dir[PATH_MAX];
  if (dns_dir(dir, sizeof dir, rundir, network, err) < 0) return -1;
  (void)bridge; /* bound by address only: --interface would add loopback too */
  char *argv[32], store[4096];
  if (build_argv(argv, 32, store, sizeof store, dir, listen_addr ? listen_addr : "", err) < 0) return -1;
  if (recorded_pid(dir)) return 0;
  if (cell_mkdir_p(rundir, 0755) < 0) return cell_error(err, errno, "dns: mkdir %s", rundir);
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return cell_error(err, errno, "dns: mkdir %s", dir);
  if (chmod(dir, 0755) < 0) return cell_error(err, errno, "dns: chmod %s", dir);
  if (check_searchable(dir, err) < 0) {
    rmdir(dir);
    return -1;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/hosts", dir);
  if (access(path, F_OK) < 0 && write_hosts(dir, NULL, 0, err) < 0) return -1;
  snprintf(path, sizeof path, "%s/dnsmasq.pid", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/log", dir);
  cleanup_close int logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logfd < 0) return cell_error(err, errno, "dns: open %s", path);
  pid_t pid = spawn_detached(logfd, argv, err);
  if (pid < 0) return -1;
  unsigned long long st = proc_start_time(pid, NULL);
  char rec[64];
  int l = snprintf(rec, sizeof rec, "%d %llu\n", (int)pid, st);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st == 0 || dfd < 0 || cell_write_atomic_at(dfd, "pid", rec, (size_t)l, 0644, err) < 0) {
    if (st) kill(pid, SIGKILL);
    if (st == 0) return cell_error(err, ESRCH, "dns: dnsmasq (pid %d) exited at once (see %s/log)", (int)pid, dir);
    return dfd < 0 ? cell_error(err, errno, "dns: open %s", dir) : -1;
  }
  if (wait_ready(dir, pid, st, err) < 0) {
    unlinkat(dfd, "pid", 0);
    return -1;
  }
  return 0;
}

int netns_dns_update_hosts(const char *rundir, const char *network, const struct netns_dns_host *hosts, size_t n,
                           struct cell_err *err) {
  char dir[PATH_MAX];
  if (dns_dir(dir, sizeof dir, rundir, network, err) < 0) return -1;
  if (cell_mkdir_p(dir, 0755) < 0) return cell_error(err, errno, "dns: mkdir %s", dir);
  if (write_hosts(dir, hosts, n, err) < 0) return -1;
  pid_t pid = recorded_pid(dir);
  if (pid > 0 && kill(pid, SIGHUP) < 0 && errno != ESRCH)
    return cell_error(err, errno, "dns: SIGHUP dnsmasq (pid %d)", (int)pid);
  return 0;
}

int netns_dns_stop(const char *rundir, const char *network, struct cell_err *err) {
  char dir[PATH_MAX];
  if (dns_dir(dir, sizeof dir, rundir, network, err) < 0) return -1;
  pid_t pid = recorded_pid(dir);
  if (pid > 0) {
    unsigned long long st = proc_start_time(pid, NULL);
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH) return cell_error(err, errno, "dns: SIGTERM dnsmasq (pid %d)", (int)pid);
    int waited = 0;
    while (is_our_dnsmasq(pid, st) && waited < DNS_STOP_TIMEOUT_MS) {
      sleep_ms(10);
      waited += 10;
    }
    if (is_our_dnsmasq(pid, st)) {
      kill(pid, SIGKILL);
      for (waited = 0; is_our_dnsmasq(pid, st) && waited < DNS_STOP_TIMEOUT_MS; waited += 10) sleep_ms(10);
      if (is_our_dnsmasq(pid, st)) return cell_error(err, ETIMEDOUT, "dns: dnsmasq (pid %d) did not exit", (int)pid);
    }
  }
  if (cell_rm_rf_at(AT_FDCWD, dir) < 0) return cell_error(err, errno, "dns: removing %s", dir);
  return 0;
}
