/* super.c - the supervisor and the worker.
 *
 * The supervisor opens /dev/fuse, mounts, reads the kernel's FUSE_INIT and
 * keeps the fd for its whole life.  It forks a worker that serves the
 * session on an inherited copy of that fd; when the worker dies, the
 * supervisor forks a new one on the same fd, so the mount (and every bind
 * mount of its files inside containers) never sees ENOTCONN.
 *
 * Lost requests: a request the kernel handed to the dead worker would never
 * be answered and its reader would hang.  Each worker thread therefore
 * reads requests straight into its own slot of a MAP_SHARED journal made by
 * the supervisor before the first fork, with the slot's state (reading /
 * busy / idle) next to it.  A new worker replays the saved FUSE_INIT into
 * its fresh libfuse session (the reply goes to a unique id the kernel has
 * already answered and is dropped with ENOENT; the session state is what
 * matters) and then processes every slot a dead worker left busy, or left
 * reading with a request header already filled in, before serving.  A
 * request answered just before the kill is answered again: the kernel
 * rejects the stale unique id with ENOENT and nothing else happens, since
 * every operation of cellfs is idempotent and file handles carry the
 * worker generation (a dead worker's handle makes reads render afresh).
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "fsview/fs.h"

#define SLOT_BUF (64 * 1024 + 4096)
#define MAX_THREADS 64
#define INIT_MAX 1024

enum { S_IDLE, S_READING, S_BUSY };

struct slot {
  int state;
  uint32_t len;
  char buf[SLOT_BUF] __attribute__((aligned(64)));
};

struct journal {
  uint32_t init_len;
  uint32_t gen;
  char init[INIT_MAX];
  struct slot slots[MAX_THREADS];
};

/* ------------------------------------------------------------ worker */

struct worker;
struct thr {
  struct worker *w;
  pthread_t tid;
  int started;
  struct slot *slot;
  struct fsv_tls tls;
};

struct worker {
  int fd;
  struct journal *j;
  struct fuse_session *se;
  struct fsv_ctx ctx;
  int nthreads;
  struct thr thr[MAX_THREADS];
  pthread_t sampler;
  int sampler_started;
  volatile int exiting;
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

static void on_usr1(int sig) { (void)sig; }

static void tls_free(struct fsv_tls *t) {
  fsv_buf_free(&t->a);
  fsv_buf_free(&t->b);
  fsv_buf_free(&t->c);
  fsv_buf_free(&t->out);
}

static void process(struct worker *w, char *mem, size_t len) {
  struct fuse_buf fb;
  memset(&fb, 0, sizeof(fb));
  fb.mem = mem;
  fb.size = len;
  fuse_session_process_buf(w->se, &fb);
}

/* One thread at a time reads /dev/fuse: the leader.  It serves what it
 * reads itself and reads again, so a lone reader's open/read/read/release
 * ping-pong with one hot thread that often finds the next request queued
 * before it would sleep; the kernel's FIFO wakeup of 8 threads blocked in
 * read() would switch to a cold thread for every request instead.  Before
 * anything that may take long or block (fsv_may_block: renders, pid
 * resolutions, page-cache stores) the leader hands reading over to an
 * idle thread, so a slow request never holds up the others.  (Handing over
 * whenever poll() shows more requests queued was measured too: it costs a
 * syscall and a thread switch per request and lowered 8-reader throughput
 * on this 2-CPU host by a third.) */
static struct {
  pthread_mutex_t m;
  pthread_cond_t cv;
  int leader;  /* a thread reads /dev/fuse, or reads next without waiting */
  int waiting; /* idle threads waiting to lead */
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
static __thread int leading;

static void handoff(void) {
  if (!leading) return;
  leading = 0;
  pthread_mutex_lock(&gate.m);
  gate.leader = 0;
  if (gate.waiting) pthread_cond_signal(&gate.cv);
  pthread_mutex_unlock(&gate.m);
}

static void lead(struct worker *w) {
  if (leading) return;
  pthread_mutex_lock(&gate.m);
  while (gate.leader && !w->exiting) {
    gate.waiting++;
    pthread_cond_wait(&gate.cv, &gate.m);
    gate.waiting--;
  }
  gate.leader = 1;
  pthread_mutex_unlock(&gate.m);
  leading = 1;
}

static void *serve(void *arg) {
  struct thr *t = arg;
  struct worker *w = t->w;
  struct slot *s = t->slot;
  fsv_cur_tls = &t->tls;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &m, NULL);
  while (!w->exiting) {
    lead(w);
    if (w->exiting) break;
    memset(s->buf, 0, sizeof(struct fuse_in_header));
    __atomic_store_n(&s->state, S_READING, __ATOMIC_SEQ_CST);
    ssize_t n = read(w->fd, s->buf, SLOT_BUF);
    if (n < 0) {
      __atomic_store_n(&s->state, S_IDLE, __ATOMIC_SEQ_CST);
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
      /* ENODEV: unmounted; anything else: the fd is unusable */
      w->exiting = 1;
      kill(getpid(), SIGUSR2);
      break;
    }
    s->len = (uint32_t)n;
    __atomic_store_n(&s->state, S_BUSY, __ATOMIC_SEQ_CST);
    process(w, s->buf, (size_t)n);
    __atomic_store_n(&s->state, S_IDLE, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

static void *sampler(void *arg) {
  struct worker *w = arg;
  struct fsv_tls tls;
  memset(&tls, 0, sizeof(tls));
  pthread_mutex_lock(&w->lock);
  while (!w->exiting) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    if (w->exiting) break;
    pthread_mutex_unlock(&w->lock);
    fsv_sample_all(w->ctx.tab, &tls);
    fsv_sweep(w->ctx.tab);
    pthread_mutex_lock(&w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  tls_free(&tls);
  return NULL;
}

/* Requests a dead worker took from the kernel and did not finish. */
static int recover_slots(struct worker *w, struct fsv_tls *tls) {
  int n = 0;
  char *copy = malloc(SLOT_BUF);
  if (!copy) return 0;
  fsv_cur_tls = tls;
  for (int i = 0; i < MAX_THREADS; i++) {
    struct slot *s = &w->j->slots[i];
    int st = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
    const struct fuse_in_header *in = (const void *)s->buf;
    size_t len = 0;
    if (st == S_BUSY) len = s->len;
    else if (st == S_READING && in->len >= sizeof(*in) && in->len <= SLOT_BUF) len = in->len;
    s->state = S_IDLE;
    if (!len) continue;
    memcpy(copy, s->buf, len);
    process(w, copy, len);
    n++;
  }
  free(copy);
  return n;
}

static int worker_main(int fd, struct journal *j, const struct fsv_opts *o) {
  struct worker *w = calloc(1, sizeof(*w));
  if (!w) return 1;
  w->fd = fd;
  w->j = j;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  int rc = 1;
  struct cell_err err = {0};
  struct fsv_tls rtls;
  memset(&rtls, 0, sizeof(rtls));
  if (fsv_ctx_init(&w->ctx, o, &err) < 0) {
    fprintf(stderr, "cellfs worker: %s\n", err.msg);
    goto out_free;
  }
  if (fsv_handles_init(j->gen) < 0) goto out_ctx;
  char *argv[] = {"cellfs", o->debug > 1 ? "-d" : NULL, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(o->debug > 1 ? 2 : 1, argv);
  w->se = fuse_session_new(&args, &fsv_ops, sizeof(fsv_ops), &w->ctx);
  fuse_opt_free_args(&args);
  if (!w->se) goto out_handles;
  fsv_session = w->se;
  char fdpath[32];
  snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd);
  if (fuse_session_mount(w->se, fdpath) != 0) goto out_session;
  /* replay the kernel's FUSE_INIT into this fresh session */
  char init[INIT_MAX];
  memcpy(init, j->init, j->init_len);
  process(w, init, j->init_len);
  int recovered = recover_slots(w, &rtls);
  if (o->debug && recovered)
    fprintf(stderr, "cellfs worker: answered %d requests of a dead worker\n", recovered);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1; /* no SA_RESTART: interrupts read() */
  sigaction(SIGUSR1, &sa, NULL);

  w->nthreads = o->threads < 1 ? 1 : o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
  fsv_nthreads = w->nthreads;
  fsv_may_block = handoff;
  for (int i = 0; i < w->nthreads; i++) {
    w->thr[i].w = w;
    w->thr[i].slot = &j->slots[i];
    if (pthread_create(&w->thr[i].tid, NULL, serve, &w->thr[i]) == 0) w->thr[i].started = 1;
  }
  if (pthread_create(&w->sampler, NULL, sampler, w) == 0) w->sampler_started = 1;

  sigdelset(&mask, SIGUSR1);
  int sig = 0;
  sigwait(&mask, &sig);
  pthread_mutex_lock(&w->lock);
  w->exiting = 1;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
  pthread_mutex_lock(&gate.m);
  pthread_cond_broadcast(&gate.cv);
  pthread_mutex_unlock(&gate.m);
  for (int i = 0; i < w->nthreads; i++) {
    if (!w->thr[i].started) continue;
    for (;;) {
      pthread_kill(w->thr[i].tid, SIGUSR1);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 50 * 1000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      if (pthread_timedjoin_np(w->thr[i].tid, NULL, &ts) == 0) break;
    }
    tls_free(&w->thr[i].tls);
  }
  if (w->sampler_started) pthread_join(w->sampler, NULL);
  rc = 0;
out_session:
  fsv_session = NULL;
  fsv_may_block = NULL;
  fuse_session_destroy(w->se); /* closes this worker's copy of the fd */
out_handles:
  fsv_handles_free();
out_ctx:
  fsv_ctx_free(&w->ctx);
out_free:
  tls_free(&rtls);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
  free(w);
  return rc;
}

/* ------------------------------------------------------------ supervisor */

static pid_t start_worker(int fd, struct journal *j, const struct fsv_opts *o,
                          const sigset_t *oldmask) {
  j->gen++;
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, oldmask, NULL);
    prctl(PR_SET_NAME, "cellfs-worker");
    _exit(worker_main(fd, j, o));
  }
  return pid;
}

char **fsv_argv;

/* The journal lives in a memfd so that an upgrade (exec) can hand it over. */
static struct journal *journal_map(int jfd) {
  void *m = mmap(NULL, sizeof(struct journal), PROT_READ | PROT_WRITE, MAP_SHARED, jfd, 0);
  return m == MAP_FAILED ? NULL : m;
}

/* Open /dev/fuse, mount mp and keep the kernel's FUSE_INIT in a new journal. */
static int mount_new(const struct fsv_opts *o, int *fdp, int *jfdp, struct journal **jp,
                     struct cell_err *err) {
  const char *mp = o->mountpoint;
  if (cell_mkdir_p(mp, 0755) < 0) return cell_error(err, errno, "create mountpoint %s", mp);
  /* a cellfs that died left its dead mount here: detach it, not stack on it */
  int dead = fsv_detach_dead(mp);
  if (dead < 0) return cell_error(err, errno, "detach the dead cellfs mount on %s", mp);
  if (dead && o->debug) fprintf(stderr, "cellfs: detached %d dead mount(s) on %s\n", dead, mp);
  int jfd = memfd_create("cellfs-journal", MFD_CLOEXEC);
  if (jfd < 0) return cell_error(err, errno, "create the request journal (memfd)");
  struct journal *j = NULL;
  if (ftruncate(jfd, sizeof(*j)) < 0 || !(j = journal_map(jfd))) {
    int e = errno;
    close(jfd);
    return cell_error(err, e, "map the request journal");
  }
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    munmap(j, sizeof(*j));
    close(jfd);
    return cell_error(err, e, "open /dev/fuse");
  }
  char data[256];
  snprintf(data, sizeof(data),
           "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,"
           "max_read=131072",
           fd);
  int e = 0;
  if (mount("cellfs", mp, "fuse.cellfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, data) <
      0) {
    e = errno;
    cell_error(err, e, "mount fuse.cellfs on %s", mp);
  } else {
    /* the kernel queues FUSE_INIT at mount time; keep it for every worker */
    ssize_t n;
    do {
      n = read(fd, j->slots[0].buf, SLOT_BUF);
    } while (n < 0 && errno == EINTR);
    const struct fuse_in_header *in = (const void *)j->slots[0].buf;
    if (n < (ssize_t)sizeof(*in) || in->opcode != FUSE_INIT || (size_t)n > INIT_MAX) {
      e = n < 0 ? errno : EPROTO;
      umount2(mp, MNT_DETACH);
      cell_error(err, e, "read FUSE_INIT from /dev/fuse for %s", mp);
    } else {
      memcpy(j->init, j->slots[0].buf, (size_t)n);
      j->init_len = (uint32_t)n;
    }
  }
  if (e) {
    close(fd);
    munmap(j, sizeof(*j));
    close(jfd);
    return -1;
  }
  *fdp = fd;
  *jfdp = jfd;
  *jp = j;
  return 0;
}

/* Started by an upgrading cellfs (exec): take over its /dev/fuse fd, its
 * journal and its worker, which is stopped gracefully (it finishes the
 * requests it holds; new ones wait in the kernel for the next worker). */
static int take_over(const char *env, int *fdp, int *jfdp, struct journal **jp,
                     struct cell_err *err) {
  int fd, jfd, oldw;
  struct stat st;
  if (sscanf(env, "%d,%d,%d", &fd, &jfd, &oldw) != 3 || fstat(fd, &st) < 0 ||
      !S_ISCHR(st.st_mode) || fstat(jfd, &st) < 0 || (size_t)st.st_size < sizeof(struct journal))
    return cell_error(err, EINVAL, "%s=\"%s\": not the fds of a running cellfs",
                      FSV_HANDOVER_ENV, env);
  unsetenv(FSV_HANDOVER_ENV);
  struct journal *j = journal_map(jfd);
  if (!j) return cell_error(err, errno, "map the handed over request journal");
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  fcntl(jfd, F_SETFD, FD_CLOEXEC);
  if (oldw > 0 && kill(oldw, SIGTERM) == 0)
    while (waitpid(oldw, NULL, 0) < 0 && errno == EINTR) {
    }
  *fdp = fd;
  *jfdp = jfd;
  *jp = j;
  return 0;
}

/* SIGHUP: exec the binary at exe with the same arguments, handing over
 * the mount's fd, the journal and the worker.  Returns only on failure. */
static void upgrade(const char *exe, int fd, int jfd, pid_t worker) {
  char v[64];
  snprintf(v, sizeof(v), "%d,%d,%d", fd, jfd, (int)worker);
  fcntl(fd, F_SETFD, 0);
  fcntl(jfd, F_SETFD, 0);
  setenv(FSV_HANDOVER_ENV, v, 1);
  /* the signals stay blocked across exec; the new image blocks them too */
  execv(exe, fsv_argv);
  fprintf(stderr, "cellfs: upgrade: exec %s: %s; this cellfs goes on serving\n", exe,
          strerror(errno));
  unsetenv(FSV_HANDOVER_ENV);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  fcntl(jfd, F_SETFD, FD_CLOEXEC);
}

/* Replace dead binds of cellfs files in running containers, in a child so
 * the supervisor stays responsive (it reaps the child as any other). */
static void start_rebind(const struct fsv_opts *o, const sigset_t *oldmask) {
  pid_t pid = fork();
  if (pid != 0) return;
  sigprocmask(SIG_SETMASK, oldmask, NULL);
  prctl(PR_SET_NAME, "cellfs-rebind");
  int n = fsv_rebind_all(o->mountpoint, o->debug);
  if (n < 0) fprintf(stderr, "cellfs: rebind: scan /proc: %s\n", strerror(errno));
  else if (n > 0 && o->debug) fprintf(stderr, "cellfs: rebound %d file(s) in containers\n", n);
  _exit(0);
}

int fsv_supervise(const struct fsv_opts *o, struct cell_err *err) {
  const char *mp = o->mountpoint;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max; /* many cgroups: many cached fds */
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  char exe[4096];
  ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[el > 0 ? el : 0] = '\0';
  int fd = -1, jfd = -1;
  struct journal *j = NULL;
  const char *hand = getenv(FSV_HANDOVER_ENV);
  if (hand ? take_over(hand, &fd, &jfd, &j, err) < 0 : mount_new(o, &fd, &jfd, &j, err) < 0)
    return -1;

  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, &old);
  for (int s = 1; s < NSIG; s++) /* an upgrade's exec kept them blocked */
    if (sigismember(&mask, s)) sigdelset(&old, s);
  signal(SIGPIPE, SIG_IGN);

  pid_t worker = start_worker(fd, j, o, &old);
  if (worker < 0) {
    int e = errno;
    umount2(mp, MNT_DETACH);
    close(fd);
    munmap(j, sizeof(*j));
    close(jfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return cell_error(err, e, "fork the cellfs worker");
  }
  if (o->debug)
    fprintf(stderr, "cellfs: %s %s, worker %d\n", hand ? "took over" : "mounted", mp, (int)worker);
  if (!hand) start_rebind(o, &old);
  time_t started = time(NULL);
  int fast_deaths = 0, rc = 0;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&mask, &si);
    if (sig < 0) continue;
    if (sig == SIGHUP) {
      if (exe[0] && fsv_argv) upgrade(exe, fd, jfd, worker);
      continue;
    }
    if (sig == SIGCHLD) {
      int status;
      pid_t p;
      int worker_gone = 0, clean = 0;
      while ((p = waitpid(-1, &status, WNOHANG)) > 0)
        if (p == worker) {
          worker_gone = 1;
          clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
      if (!worker_gone) continue;
      if (clean) break; /* unmounted under us: nothing left to serve */
      if (o->debug)
        fprintf(stderr, "cellfs: worker %d died (%s %d), restarting\n", (int)worker,
                WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      fast_deaths = time(NULL) - started < 2 ? fast_deaths + 1 : 0;
      if (fast_deaths > 3) {
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
      }
      worker = start_worker(fd, j, o, &old);
      started = time(NULL);
      if (worker < 0) {
        rc = cell_error(err, errno, "restart the cellfs worker");
        umount2(mp, MNT_DETACH);
        break;
      }
    } else {
      umount2(mp, MNT_DETACH);
      kill(worker, SIGTERM);
      int status;
      while (waitpid(worker, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
  }
  close(fd);
  munmap(j, sizeof(*j));
  close(jfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return rc;
}

int fsv_run(const struct fsv_opts *o, char **argv, struct cell_err *err) {
  fsv_argv = argv;
  /* an upgrade execs cellfs in place: already detached, keep the pid */
  if (o->daemon && !getenv(FSV_HANDOVER_ENV)) {
    pid_t p = fork();
    if (p < 0) return cell_error(err, errno, "fork");
    if (p > 0) return 0;
    setsid();
    if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout))
      return cell_error(err, errno, "daemon: reopen stdin/stdout on /dev/null");
  }
  return fsv_supervise(o, err) < 0 ? -1 : 0;
}
