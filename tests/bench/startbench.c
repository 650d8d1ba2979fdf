/* startbench.c - time create -> start -> wait -> delete of an OCI container
 * with several runtimes, interleaved in random order, on one bundle or on
 * several setups; or time arbitrary commands the same way.
 *
 *   startbench -R STATEDIR [-b BUNDLE | -B SETUP=BUNDLE ...] [-c CASES]
 *              [-f ROOTFS] [-I IDPREFIX] [-n ROUNDS] [-w WARMUP] [-t TIMEOUT_S]
 *              [-r REFNAME] [-o SAMPLES.tsv] [-s SUMMARY.tsv] [-S SEED]
 *              [NAME=RUNTIME ...]
 *
 * One cycle for a runtime RT named NAME, run by a freshly forked child of
 * the driver that makes itself a child subreaper:
 *   RT --root STATEDIR/NAME create --bundle BUNDLE --pid-file P ID
 *   RT --root STATEDIR/NAME start ID
 *   waitpid(pid in P)    (the init is reparented to the subreaper once
 *                         `create` exits; it must exit with status 0)
 *   RT --root STATEDIR/NAME delete ID
 * (ID = IDPREFIX-NAME-<driver pid>-<round>, IDPREFIX default "startbench").
 * With -B (repeatable) every runtime runs in every setup, each with that
 * setup's bundle: rows "SETUP/NAME", state in STATEDIR/SETUP-NAME.
 * Wall time is CLOCK_MONOTONIC from before create to after delete; CPU time
 * and peak RSS come from getrusage(RUSAGE_CHILDREN) in that fresh child, so
 * they cover exactly the runtime processes and the container init of one
 * cycle.  With -f, a row "floor" times
 *   unshare -m -p -u -i -n -C --fork chroot ROOTFS /bin/true
 * the same way.  -c CASES adds command rows, one a line:
 *   NAME<TAB>WAITFILE<TAB>ARG0 ARG1 ...     (args split on spaces)
 * timed from spawn to exit, and with a WAITFILE other than "-" until the pid
 * the command wrote there is gone too (exec --detach --pid-file).
 *
 * Ratios: every row against the -r REFNAME (default crun) row of its own
 * group (SETUP/, or the "GROUP/" of a case name), as a ratio of medians and
 * as the median of per-round ratios (paired); and against the row "floor".
 *
 * Every round runs each row once, in a fresh random order (-S SEED
 * makes it reproducible); the first WARMUP rounds are discarded.  A row whose cycle fails
 * is reported as "NAME: failed: <error>" and not run again; the others go
 * on.  Prints a summary table and a per-step table on stdout.  Exit status:
 * 0 all rows completed every round, 1 some row failed, 2 bad usage.
 * This is a measurement tool: it never judges a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ERR_LEN 600
#define MAX_RT 64
#define MAX_SETUP 8
#define MAX_ARGS 64

enum kind { KIND_RUNTIME, KIND_FLOOR, KIND_CMD };

struct sample {
  int ok, round;
  double wall_ms, create_ms, start_ms, wait_ms, delete_ms;
  double user_ms, sys_ms;
  long maxrss_kb;
  char err[ERR_LEN];
};

struct runtime {
  const char *name;  /* row name: NAME, or SETUP/NAME with -B, or a -c case */
  const char *path;  /* runtime binary, or the rootfs for the floor */
  const char *group; /* the setup (-B) or case group (-c "GROUP/NAME"); "" if none */
  const char *base;  /* NAME without the group: what -r REFNAME matches */
  const char *bundle;
  enum kind kind;
  char **argv;           /* KIND_CMD: the command */
  const char *waitfile;  /* KIND_CMD: wait for the pid in this file to be gone */
  char tag[128];  /* name with '/' as '-': state dir, pid file, container id */
  char root[PATH_MAX];
  char pidfile[PATH_MAX];
  int failed;
  char err[ERR_LEN];
  struct sample *samples;
  int nsamples;
};

static struct {
  const char *bundle, *statedir, *ref, *samples_path, *summary_path, *idprefix;
  int rounds, warmup, timeout_ms;
  unsigned long long seed;
} opt = {NULL, NULL, "crun", NULL, NULL, "startbench", 30, 1, 20000, 0};

/* xorshift64*: a reproducible order for a given -S seed on any libc. */
static unsigned long long rng_state;
static unsigned rng_below(unsigned n) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void seterr(char *dst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void seterr(char *dst, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, ERR_LEN, fmt, ap);
  va_end(ap);
}

/* strncpy that always terminates; used where the source may be longer. */
static void copy_trunc(char *dst, size_t len, const char *src) {
  size_t n = strlen(src);
  if (n >= len) n = len - 1;
  memcpy(dst, src, n);
  dst[n] = 0;
}

static int pidfd_open_(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* Poll pidfd (closed here) until its process exits: 0, or -1 with errno
 * ETIMEDOUT after timeout_ms. */
static int pidfd_wait(int pfd, int timeout_ms) {
  struct pollfd p = {.fd = pfd, .events = POLLIN};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  close(pfd);
  if (r == 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  return 0;
}

/* Wait up to timeout_ms for pid (a child of ours) to exit and reap it.
 * Returns 0 and sets *status, or -1 with errno (ETIMEDOUT on timeout). */
static int wait_child(pid_t pid, int timeout_ms, int *status) {
  int pfd = pidfd_open_(pid);
  if (pfd >= 0) {
    if (pidfd_wait(pfd, timeout_ms) < 0) return -1;
  } else if (errno != ESRCH) {
    return -1;
  }
  pid_t w;
  do w = waitpid(pid, status, 0);
  while (w < 0 && errno == EINTR);
  return w == pid ? 0 : -1;
}

/* Copy the last bytes a command wrote to stderr (memfd) into dst as one
 * line: runtimes put the reason last. */
static void read_stderr(int fd, char *dst, size_t len) {
  char buf[ERR_LEN];
  off_t end = lseek(fd, 0, SEEK_END);
  off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  if (n < 0) n = 0;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n' || buf[i] == '\t') buf[i] = ' ';
  copy_trunc(dst, len, n ? buf : "(no message on stderr)");
}

/* Run argv with stdin/stdout on /dev/null and stderr captured; wait at most
 * opt.timeout_ms.  Returns 0 on exit status 0, else -1 with err filled as
 * "<what>: <why>: <stderr tail>". */
static int run_cmd(char *const argv[], const char *what, char *err) {
  int efd = memfd_create("startbench-stderr", MFD_CLOEXEC);
  if (efd < 0) {
    seterr(err, "%s: memfd_create: %s", what, strerror(errno));
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, efd, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    seterr(err, "%s: cannot execute %s: %s", what, argv[0], strerror(rc));
    close(efd);
    return -1;
  }
  int st;
  if (wait_child(pid, opt.timeout_ms, &st) < 0) {
    int e = errno;
    if (e == ETIMEDOUT) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      seterr(err, "%s: no exit after %d ms (killed)", what, opt.timeout_ms);
    } else {
      seterr(err, "%s: waitpid %d: %s", what, (int)pid, strerror(e));
    }
    close(efd);
    return -1;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    close(efd);
    return 0;
  }
  char msg[ERR_LEN];
  read_stderr(efd, msg, sizeof msg);
  close(efd);
  if (WIFEXITED(st))
    seterr(err, "%s: exit status %d: %s", what, WEXITSTATUS(st), msg);
  else
    seterr(err, "%s: killed by signal %d: %s", what, WTERMSIG(st), msg);
  return -1;
}

static int read_pidfile(const char *path, pid_t *pid, char *err) {
  FILE *f = fopen(path, "re");
  if (!f) {
    seterr(err, "create: pid file %s: %s", path, strerror(errno));
    return -1;
  }
  long v = 0;
  int n = fscanf(f, "%ld", &v);
  fclose(f);
  if (n != 1 || v <= 0 || v > INT_MAX) {
    seterr(err, "create: pid file %s does not hold a pid", path);
    return -1;
  }
  *pid = (pid_t)v;
  return 0;
}

static void fill_rusage(struct sample *s) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  s->user_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
  s->sys_ms = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
  s->maxrss_kb = ru.ru_maxrss;
}

/* Reap whatever else was reparented to us during the cycle. */
static void reap_strays(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void cycle_floor(struct runtime *rt, struct sample *s) {
  char *argv[] = {"/usr/bin/unshare", "-m", "-p", "-u", "-i", "-n", "-C",
                  "--fork", "/usr/sbin/chroot", (char *)rt->path, "/bin/true",
                  NULL};
  double t0 = now_ms();
  if (run_cmd(argv, "floor", s->err) < 0) return;
  s->wall_ms = now_ms() - t0;
  s->ok = 1;
}

/* Wait until pid (not necessarily our child) is gone; reap it if it was
 * reparented to us.  0, or -1 with errno (ETIMEDOUT). */
static int wait_gone(pid_t pid, int timeout_ms) {
  int pfd = pidfd_open_(pid);
  if (pfd < 0) return errno == ESRCH ? 0 : -1;
  if (pidfd_wait(pfd, timeout_ms) < 0) return -1;
  waitpid(pid, NULL, WNOHANG);
  return 0;
}

/* -c case: run the command; with a wait file, then wait for the pid it
 * names (written by the command, e.g. `exec --detach --pid-file F`) to be
 * gone, as an engine waiting for the detached process would. */
static void cycle_cmd(struct runtime *rt, struct sample *s) {
  if (rt->waitfile) unlink(rt->waitfile);
  double t0 = now_ms();
  if (run_cmd(rt->argv, "command", s->err) < 0) return;
  if (rt->waitfile) {
    pid_t pid;
    if (read_pidfile(rt->waitfile, &pid, s->err) < 0) return;
    if (wait_gone(pid, opt.timeout_ms) < 0) {
      seterr(s->err, "wait: process %d from %s: %s", (int)pid, rt->waitfile,
             errno == ETIMEDOUT ? "still running at the timeout" : strerror(errno));
      kill(pid, SIGKILL);
      return;
    }
  }
  s->wall_ms = now_ms() - t0;
  s->ok = 1;
}

static void cycle_runtime(struct runtime *rt, int round, struct sample *s) {
  char id[128];
  snprintf(id, sizeof id, "%s-%s-%d-%d", opt.idprefix, rt->tag, (int)getppid(), round);
  char *rtp = (char *)rt->path, *root = rt->root;
  char *create[] = {rtp, "--root", root, "create", "--bundle", (char *)rt->bundle,
                    "--pid-file", rt->pidfile, id, NULL};
  char *start[] = {rtp, "--root", root, "start", id, NULL};
  char *del[] = {rtp, "--root", root, "delete", id, NULL};
  char *force[] = {rtp, "--root", root, "delete", "--force", id, NULL};
  pid_t init = -1;
  int st;
  char ignored[ERR_LEN];

  unlink(rt->pidfile);
  double t0 = now_ms();
  if (run_cmd(create, "create", s->err) < 0) goto fail;
  double t1 = now_ms();
  if (read_pidfile(rt->pidfile, &init, s->err) < 0) goto fail;
  if (run_cmd(start, "start", s->err) < 0) goto fail;
  double t2 = now_ms();
  if (wait_child(init, opt.timeout_ms, &st) < 0) {
    if (errno == ECHILD)
      seterr(s->err, "wait: container init %d is not a child of the subreaper driver",
             (int)init);
    else if (errno == ETIMEDOUT)
      seterr(s->err, "wait: container init %d still running after %d ms", (int)init,
             opt.timeout_ms);
    else
      seterr(s->err, "wait: waitpid %d: %s", (int)init, strerror(errno));
    goto fail;
  }
  init = -1;
  double t3 = now_ms();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    seterr(s->err, "wait: container /bin/true ended with %s %d",
           WIFEXITED(st) ? "exit status" : "signal",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    goto fail;
  }
  if (run_cmd(del, "delete", s->err) < 0) goto fail;
  double t4 = now_ms();
  s->create_ms = t1 - t0;
  s->start_ms = t2 - t1;
  s->wait_ms = t3 - t2;
  s->delete_ms = t4 - t3;
  s->wall_ms = t4 - t0;
  s->ok = 1;
  return;
fail:
  if (init > 0) {
    kill(init, SIGKILL);
    wait_child(init, opt.timeout_ms, &st);
  }
  run_cmd(force, "delete --force", ignored);
}

/* Run one cycle in a fresh child so RUSAGE_CHILDREN covers only it. */
static void run_cycle(struct runtime *rt, int round, struct sample *out) {
  memset(out, 0, sizeof *out);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    seterr(out->err, "pipe: %s", strerror(errno));
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    seterr(out->err, "fork: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    return;
  }
  if (pid == 0) {
    struct sample s;
    memset(&s, 0, sizeof s);
    close(p[0]);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
      seterr(s.err, "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    else if (rt->kind == KIND_FLOOR)
      cycle_floor(rt, &s);
    else if (rt->kind == KIND_CMD)
      cycle_cmd(rt, &s);
    else
      cycle_runtime(rt, round, &s);
    reap_strays();
    fill_rusage(&s);
    ssize_t n = write(p[1], &s, sizeof s);
    _exit(n == (ssize_t)sizeof s ? 0 : 1);
  }
  close(p[1]);
  ssize_t n, got = 0;
  while (got < (ssize_t)sizeof *out &&
         ((n = read(p[0], (char *)out + got, sizeof *out - got)) > 0 ||
          (n < 0 && errno == EINTR)))
    if (n > 0) got += n;
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (got != (ssize_t)sizeof *out) {
    memset(out, 0, sizeof *out);
    seterr(out->err, "cycle process %d ended without a result (status 0x%x)", (int)pid,
           st);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double get_wall(const struct sample *s) { return s->wall_ms; }
static double get_cpu(const struct sample *s) { return s->user_ms + s->sys_ms; }
static double get_create(const struct sample *s) { return s->create_ms; }
static double get_start(const struct sample *s) { return s->start_ms; }
static double get_wait(const struct sample *s) { return s->wait_ms; }
static double get_delete(const struct sample *s) { return s->delete_ms; }

/* q in (0,1]: 0.5 is the median (mean of the middle pair when the count is
 * even), anything else the nearest-rank quantile. */
static double quantile(const struct runtime *rt, double (*get)(const struct sample *),
                       double q) {
  int n = rt->nsamples;
  if (n == 0) return NAN;
  double *v = malloc(sizeof *v * n);
  if (!v) return NAN;
  for (int i = 0; i < n; i++) v[i] = get(&rt->samples[i]);
  qsort(v, n, sizeof *v, cmp_double);
  double r;
  if (q == 0.5) r = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  else {
    int k = (int)ceil(q * n) - 1;
    r = v[k < 0 ? 0 : k];
  }
  free(v);
  return r;
}

struct stats {
  double wall_med, wall_p90, cpu_med, create, start, wait, del, paired;
  long rss_peak;
};

/* Median over the rounds both ran of rt's wall time / ref's wall time in the
 * same round: interleaved neighbours share the machine's momentary load, so
 * this ratio is steadier than the ratio of the two medians on a noisy host. */
static double paired_ratio(const struct runtime *rt, const struct runtime *ref) {
  if (!ref || rt->nsamples == 0) return NAN;
  double *v = malloc(sizeof *v * rt->nsamples);
  int n = 0;
  if (!v) return NAN;
  for (int i = 0; i < rt->nsamples; i++)
    for (int j = 0; j < ref->nsamples; j++)
      if (ref->samples[j].round == rt->samples[i].round && ref->samples[j].wall_ms > 0) {
        v[n++] = rt->samples[i].wall_ms / ref->samples[j].wall_ms;
        break;
      }
  qsort(v, n, sizeof *v, cmp_double);
  double r = n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  free(v);
  return r;
}

static void compute(const struct runtime *rt, struct stats *st) {
  st->wall_med = quantile(rt, get_wall, 0.5);
  st->wall_p90 = quantile(rt, get_wall, 0.9);
  st->cpu_med = quantile(rt, get_cpu, 0.5);
  st->create = quantile(rt, get_create, 0.5);
  st->start = quantile(rt, get_start, 0.5);
  st->wait = quantile(rt, get_wait, 0.5);
  st->del = quantile(rt, get_delete, 0.5);
  st->rss_peak = 0;
  for (int i = 0; i < rt->nsamples; i++)
    if (rt->samples[i].maxrss_kb > st->rss_peak) st->rss_peak = rt->samples[i].maxrss_kb;
}


/* The row rt is compared with: the -r REFNAME row of the same group. */
static int ref_index(const struct runtime *rts, int nrt, const struct runtime *rt) {
  for (int i = 0; i < nrt; i++)
    if (!rts[i].failed && strcmp(rts[i].group, rt->group) == 0 &&
        strcmp(rts[i].base, opt.ref) == 0)
      return i;
  return -1;
}

static double ratio(double a, double b) {
  return isnan(a) || isnan(b) || b <= 0 ? NAN : a / b;
}

static void fmt_num(char *buf, size_t len, double v) {
  if (isnan(v)) snprintf(buf, len, "-");
  else snprintf(buf, len, "%.2f", v);
}

static void report(struct runtime *rts, int nrt) {
  struct stats st[MAX_RT];
  int ref[MAX_RT], floor_i = -1, any_group = 0;
  for (int i = 0; i < nrt; i++) {
    compute(&rts[i], &st[i]);
    if (!rts[i].failed && rts[i].kind == KIND_FLOOR) floor_i = i;
    if (!rts[i].failed && strcmp(rts[i].name, "floor") == 0 && floor_i < 0) floor_i = i;
    if (rts[i].group[0]) any_group = 1;
  }
  double rw[MAX_RT], rc[MAX_RT], fw[MAX_RT], fp[MAX_RT];
  for (int i = 0; i < nrt; i++) {
    ref[i] = ref_index(rts, nrt, &rts[i]);
    const struct stats *r = ref[i] >= 0 ? &st[ref[i]] : NULL;
    st[i].paired = paired_ratio(&rts[i], ref[i] >= 0 ? &rts[ref[i]] : NULL);
    rw[i] = ratio(st[i].wall_med, r ? r->wall_med : NAN);
    rc[i] = ratio(st[i].cpu_med, r ? r->cpu_med : NAN);
    fw[i] = floor_i >= 0 && i != floor_i ? ratio(st[i].wall_med, st[floor_i].wall_med) : NAN;
    fp[i] = floor_i >= 0 && i != floor_i ? paired_ratio(&rts[i], &rts[floor_i]) : NAN;
  }
  int w = 10;
  for (int i = 0; i < nrt; i++)
    if ((int)strlen(rts[i].name) > w) w = (int)strlen(rts[i].name);
  char pw[64];
  snprintf(pw, sizeof pw, "wall/%s", opt.ref);
  printf("%-*s %5s %11s %11s %10s %9s %9s %9s %9s %9s %9s\n", w, any_group ? "setup/runtime" : "runtime",
         "runs", "wall med", "wall p90", "cpu med", "peak RSS", "wall/", "cpu/", "paired", "wall/",
         "paired");
  printf("%-*s %5s %11s %11s %10s %9s %9s %9s %9s %9s %9s\n", w, "", "", "ms", "ms", "ms", "KiB",
         opt.ref, opt.ref, pw, "floor", "wall/flr");
  for (int i = 0; i < nrt; i++) {
    if (rts[i].failed) {
      printf("%s: failed: %s\n", rts[i].name, rts[i].err);
      continue;
    }
    char a[32], b[32], c[32], d[32], e[32];
    fmt_num(a, sizeof a, rw[i]);
    fmt_num(b, sizeof b, rc[i]);
    fmt_num(c, sizeof c, st[i].paired);
    fmt_num(d, sizeof d, fw[i]);
    fmt_num(e, sizeof e, fp[i]);
    printf("%-*s %5d %11.2f %11.2f %10.2f %9ld %9s %9s %9s %9s %9s\n", w, rts[i].name,
           rts[i].nsamples, st[i].wall_med, st[i].wall_p90, st[i].cpu_med, st[i].rss_peak, a, b,
           c, d, e);
  }
  int steps = 0;
  for (int i = 0; i < nrt; i++) steps |= !rts[i].failed && rts[i].kind == KIND_RUNTIME;
  if (steps) {
    printf("\nmedian per step (ms)\n%-*s %9s %9s %9s %9s\n", w, any_group ? "setup/runtime" : "runtime",
           "create", "start", "wait", "delete");
    for (int i = 0; i < nrt; i++)
      if (!rts[i].failed && rts[i].kind == KIND_RUNTIME)
        printf("%-*s %9.1f %9.1f %9.1f %9.1f\n", w, rts[i].name, st[i].create, st[i].start,
               st[i].wait, st[i].del);
  }

  if (opt.summary_path) {
    FILE *f = fopen(opt.summary_path, "we");
    if (!f) {
      fprintf(stderr, "startbench: warning: cannot write summary %s: %s\n",
              opt.summary_path, strerror(errno));
      return;
    }
    fprintf(f, "#name\truns\twall_med_ms\twall_p90_ms\tcpu_med_ms\tpeak_rss_kb\t"
               "wall_ratio\tcpu_ratio\tcreate_ms\tstart_ms\twait_ms\tdelete_ms\tstatus\t"
               "paired_wall_ratio\tfloor_ratio\tpaired_floor_ratio\tgroup\truntime\n");
    for (int i = 0; i < nrt; i++) {
      const char *g = rts[i].group[0] ? rts[i].group : "-";
      if (rts[i].failed) {
        fprintf(f, "%s\t0\tnan\tnan\tnan\t0\tnan\tnan\tnan\tnan\tnan\tnan\tfailed: %s\tnan\tnan\tnan\t%s\t%s\n",
                rts[i].name, rts[i].err, g, rts[i].base);
        continue;
      }
      fprintf(f, "%s\t%d\t%.3f\t%.3f\t%.3f\t%ld\t%.4f\t%.4f\t%.3f\t%.3f\t%.3f\t%.3f\tok\t%.4f\t%.4f\t%.4f\t%s\t%s\n",
              rts[i].name, rts[i].nsamples, st[i].wall_med, st[i].wall_p90, st[i].cpu_med,
              st[i].rss_peak, rw[i], rc[i], st[i].create, st[i].start, st[i].wait, st[i].del,
              st[i].paired, fw[i], fp[i], g, rts[i].base);
    }
    fclose(f);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: startbench -R STATEDIR [-b BUNDLE | -B SETUP=BUNDLE ...] [-c CASES] [-f ROOTFS]\n"
          "                  [-I IDPREFIX] [-n ROUNDS] [-w WARMUP]\n"
          "                  [-t TIMEOUT_S] [-r REFNAME] [-o SAMPLES.tsv] [-s SUMMARY.tsv] [-S SEED]\n"
          "                  [NAME=RUNTIME ...]\n");
}

static int parse_int(const char *s, const char *optname, int min, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > 1000000) {
    fprintf(stderr, "startbench: %s: expected an integer >= %d, got '%s'\n", optname, min,
            s);
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int valid_name(const char *s) {
  return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-.") == strlen(s);
}

/* Fills the per-row paths from tag; 0 or -1 (too many rows). */
static struct runtime *add_row(struct runtime *rts, int *nrt, const char *group,
                               const char *base, enum kind kind) {
  if (*nrt == MAX_RT) {
    fprintf(stderr, "startbench: at most %d rows (setups x runtimes + cases)\n", MAX_RT);
    return NULL;
  }
  struct runtime *rt = &rts[(*nrt)++];
  rt->group = group;
  rt->base = base;
  rt->kind = kind;
  if (group[0]) {
    size_t n = strlen(group) + strlen(base) + 2;
    char *name = malloc(n);
    if (!name) return NULL;
    snprintf(name, n, "%s/%s", group, base);
    rt->name = name;
    snprintf(rt->tag, sizeof rt->tag, "%s-%s", group, base);
  } else {
    rt->name = base;
    snprintf(rt->tag, sizeof rt->tag, "%s", base);
  }
  snprintf(rt->root, sizeof rt->root, "%s/%s", opt.statedir, rt->tag);
  snprintf(rt->pidfile, sizeof rt->pidfile, "%s/%s.pid", opt.statedir, rt->tag);
  return rt;
}

/* -c FILE: one case a line, "NAME<TAB>WAITFILE<TAB>ARG0 ARG1 ..." (args split
 * on spaces; WAITFILE "-" for none; NAME "GROUP/BASE" or "BASE"; # comments). */
static int read_cases(const char *path, struct runtime *rts, int *nrt) {
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "startbench: -c %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[8192];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    char *name = strdup(line), *wf = strchr(name, '\t'), *args = wf ? strchr(wf + 1, '\t') : NULL;
    if (!name || !wf || !args) {
      fprintf(stderr, "startbench: -c %s:%d: expected NAME<TAB>WAITFILE<TAB>COMMAND\n", path, lineno);
      fclose(f);
      return -1;
    }
    *wf++ = 0;
    *args++ = 0;
    char *slash = strchr(name, '/'), *group = "", *base = name;
    if (slash) {
      *slash = 0;
      group = name;
      base = slash + 1;
    }
    if (!valid_name(base) || (slash && !valid_name(group))) {
      fprintf(stderr, "startbench: -c %s:%d: case name: use [a-z0-9_.-] and one '/'\n", path, lineno);
      fclose(f);
      return -1;
    }
    struct runtime *rt = add_row(rts, nrt, group, base, KIND_CMD);
    if (!rt) {
      fclose(f);
      return -1;
    }
    rt->waitfile = strcmp(wf, "-") ? wf : NULL;
    rt->argv = calloc(MAX_ARGS + 1, sizeof *rt->argv);
    int n = 0;
    for (char *sv, *tok = strtok_r(args, " ", &sv); tok; tok = strtok_r(NULL, " ", &sv)) {
      if (n == MAX_ARGS || !rt->argv) {
        fprintf(stderr, "startbench: -c %s:%d: more than %d arguments\n", path, lineno, MAX_ARGS);
        fclose(f);
        return -1;
      }
      rt->argv[n++] = tok;
    }
    if (n == 0 || access(rt->argv[0], X_OK) < 0) {
      fprintf(stderr, "startbench: -c %s:%d: command '%s' is not an executable path\n", path,
              lineno, n ? rt->argv[0] : "");
      fclose(f);
      return -1;
    }
  }
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  struct runtime rts[MAX_RT];
  int nrt = 0, c, t, nsetup = 0;
  const char *floor_rootfs = NULL, *cases = NULL;
  const char *setup_name[MAX_SETUP], *setup_bundle[MAX_SETUP];
  memset(rts, 0, sizeof rts);

  while ((c = getopt(argc, argv, "b:B:c:I:R:f:n:w:t:r:o:s:S:h")) != -1) {
    switch (c) {
      case 'b': opt.bundle = optarg; break;
      case 'B': {
        char *eq = strchr(optarg, '=');
        if (!eq || eq[1] != '/') {
          fprintf(stderr, "startbench: -B '%s': expected SETUP=/ABSOLUTE/BUNDLE\n", optarg);
          return 2;
        }
        *eq = 0;
        if (!valid_name(optarg) || nsetup == MAX_SETUP) {
          fprintf(stderr, "startbench: -B: setup name '%s': use [a-z0-9_.-], at most %d setups\n",
                  optarg, MAX_SETUP);
          return 2;
        }
        setup_name[nsetup] = optarg;
        setup_bundle[nsetup++] = eq + 1;
        break;
      }
      case 'c': cases = optarg; break;
      case 'I':
        if (!valid_name(optarg)) {
          fprintf(stderr, "startbench: -I (container id prefix): use [a-z0-9_.-], got '%s'\n", optarg);
          return 2;
        }
        opt.idprefix = optarg;
        break;
      case 'R': opt.statedir = optarg; break;
      case 'f': floor_rootfs = optarg; break;
      case 'n': if (parse_int(optarg, "-n (rounds)", 1, &opt.rounds) < 0) return 2; break;
      case 'w': if (parse_int(optarg, "-w (warm-up rounds)", 0, &opt.warmup) < 0) return 2; break;
      case 't':
        if (parse_int(optarg, "-t (timeout seconds)", 1, &t) < 0) return 2;
        opt.timeout_ms = t * 1000;
        break;
      case 'r': opt.ref = optarg; break;
      case 'S': {
        char *end;
        errno = 0;
        opt.seed = strtoull(optarg, &end, 10);
        if (errno || end == optarg || *end || opt.seed == 0) {
          fprintf(stderr, "startbench: -S (seed): expected a positive integer, got '%s'\n",
                  optarg);
          return 2;
        }
        break;
      }
      case 'o': opt.samples_path = optarg; break;
      case 's': opt.summary_path = optarg; break;
      default: usage(); return 2;
    }
  }
  if (!opt.statedir || opt.statedir[0] != '/') {
    fprintf(stderr, "startbench: -R STATEDIR: an absolute directory is required\n");
    return 2;
  }
  if (floor_rootfs) {
    struct stat sb;
    char tru[PATH_MAX];
    snprintf(tru, sizeof tru, "%s/bin/true", floor_rootfs);
    if (floor_rootfs[0] != '/' || stat(tru, &sb) < 0) {
      fprintf(stderr, "startbench: -f ROOTFS: %s must be an absolute rootfs with bin/true\n",
              floor_rootfs);
      return 2;
    }
    struct runtime *rt = add_row(rts, &nrt, "", "floor", KIND_FLOOR);
    rt->path = floor_rootfs;
  }
  if (cases && read_cases(cases, rts, &nrt) < 0) return 2;
  int first = optind;
  for (int i = first; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq || eq == argv[i] || !eq[1]) {
      fprintf(stderr, "startbench: runtime argument '%s': expected NAME=PATH\n", argv[i]);
      return 2;
    }
    *eq = 0;
    if (strspn(argv[i], "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(argv[i])) {
      fprintf(stderr, "startbench: runtime name '%s': use [a-z0-9_-] only\n", argv[i]);
      return 2;
    }
  }
  if (argc > first && nsetup == 0 && (!opt.bundle || opt.bundle[0] != '/')) {
    fprintf(stderr, "startbench: -b BUNDLE: an absolute bundle directory is required\n");
    return 2;
  }
  for (int k = 0; k < (nsetup ? nsetup : 1); k++) {
    for (int i = first; i < argc; i++) {
      struct runtime *rt = add_row(rts, &nrt, nsetup ? setup_name[k] : "", argv[i], KIND_RUNTIME);
      if (!rt) return 2;
      rt->path = argv[i] + strlen(argv[i]) + 1;
      rt->bundle = nsetup ? setup_bundle[k] : opt.bundle;
      if (access(rt->path, X_OK) < 0) {
        rt->failed = 1;
        seterr(rt->err, "%s: %s", rt->path, strerror(errno));
      }
    }
  }
  if (nrt == 0) {
    fprintf(stderr, "startbench: nothing to run: give -f ROOTFS and/or NAME=RUNTIME\n");
    usage();
    return 2;
  }
  if (mkdir(opt.statedir, 0700) < 0 && errno != EEXIST) {
    fprintf(stderr, "startbench: mkdir %s: %s\n", opt.statedir, strerror(errno));
    return 2;
  }
  for (int i = 0; i < nrt; i++) {
    rts[i].samples = calloc(opt.rounds, sizeof(struct sample));
    if (!rts[i].samples) {
      fprintf(stderr, "startbench: out of memory\n");
      return 2;
    }
  }

  if (opt.seed == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    opt.seed = ((unsigned long long)ts.tv_nsec << 20 ^ (unsigned long long)ts.tv_sec ^
                (unsigned long long)getpid()) | 1;
  }
  rng_state = opt.seed;
  printf("order: shuffled every round, seed %llu (-S %llu repeats it)\n", opt.seed, opt.seed);

  FILE *raw = NULL;
  if (opt.samples_path) {
    raw = fopen(opt.samples_path, "we");
    if (!raw) {
      fprintf(stderr, "startbench: -o %s: %s\n", opt.samples_path, strerror(errno));
      return 2;
    }
    fprintf(raw, "#round\tname\twall_ms\tcpu_ms\tuser_ms\tsys_ms\tmaxrss_kb\t"
                 "create_ms\tstart_ms\twait_ms\tdelete_ms\n");
  }

  for (int round = 0; round < opt.warmup + opt.rounds; round++) {
    int measured = round >= opt.warmup;
    /* A fresh random order every round: what ran just before a runtime
     * matters (e.g. the first cgroup attach after a pause waits for an RCU
     * grace period), so no runtime may always follow the same one. */
    int order[MAX_RT];
    for (int k = 0; k < nrt; k++) order[k] = k;
    for (int k = nrt - 1; k > 0; k--) {
      int j = (int)rng_below((unsigned)k + 1), t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
    for (int k = 0; k < nrt; k++) {
      struct runtime *rt = &rts[order[k]];
      if (rt->failed) continue;
      struct sample s;
      run_cycle(rt, round, &s);
      if (!s.ok) {
        rt->failed = 1;
        if (measured) copy_trunc(rt->err, sizeof rt->err, s.err);
        else seterr(rt->err, "(warm-up) %s", s.err);
        fprintf(stderr, "startbench: %s: failed: %s\n", rt->name, rt->err);
        continue;
      }
      if (!measured) continue;
      s.round = round - opt.warmup;
      rt->samples[rt->nsamples++] = s;
      if (raw)
        fprintf(raw, "%d\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%ld\t%.3f\t%.3f\t%.3f\t%.3f\n",
                round - opt.warmup, rt->name, s.wall_ms, s.user_ms + s.sys_ms, s.user_ms,
                s.sys_ms, s.maxrss_kb, s.create_ms, s.start_ms, s.wait_ms, s.delete_ms);
    }
  }
  if (raw) fclose(raw);

  report(rts, nrt);
  int anyfail = 0;
  for (int i = 0; i < nrt; i++) {
    anyfail |= rts[i].failed;
    free(rts[i].samples);
  }
  return anyfail ? 1 : 0;
}
