/* cgroup.c - host cgroup mounts, per-cgroup fd caches, pid resolution,
 * value collectors and the loadavg sampler. */
#include "fsview/fsv_cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/fsview_files.h"
#include "lib/mountinfo.h"

void (*fsv_may_block)(void);

uint64_t fsv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ host mounts */

static const char *role_ctrl[R_NROLES] = {"memory", "cpu", "cpuacct", "cpuset",
                                          "blkio", "pids", NULL};
static const char *v2_ctrl[R_NROLES] = {"memory", "cpu", NULL, "cpuset", "io", "pids", NULL};

/* in enum fsv_host_file order: the proc files below the host's proc, then /sys */
#define PROC_NAME(n) n,
#define SYS_PATH(n) "/" CELL_FSVIEW_CPU_DIR "/" n,
static const char *host_paths[H_NFILES] = {CELL_FSVIEW_PROC_FILES(PROC_NAME) CELL_FSVIEW_CPU_FILES(SYS_PATH)};
#undef PROC_NAME
#undef SYS_PATH

static int has_opt(const char *opts, const char *want) {
  size_t n = strlen(want);
  for (const char *p = opts; p && *p;) {
    if (strncmp(p, want, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == '\n')) return 1;
    p = strchr(p, ',');
    if (p) p++;
  }
  return 0;
}

int fsv_host_init(struct fsv_host *h, const char *mountinfo, const char *proc,
                  struct cell_err *err) {
  memset(h, 0, sizeof(*h));
  for (int i = 0; i < H_NFILES; i++) h->hostfd[i] = -1;
  h->proc = proc ? proc : "/proc";
  h->hz = sysconf(_SC_CLK_TCK);
  if (h->hz <= 0) h->hz = 100;
  if (!mountinfo) mountinfo = "/proc/self/mountinfo";
  FILE *f = fopen(mountinfo, "re");
  if (!f) return cell_error(err, errno, "open %s", mountinfo);
  char *line = NULL;
  size_t cap = 0;
  char *v2mnt = NULL, *v2root = NULL;
  while (getline(&line, &cap, f) > 0) {
    struct cell_mountinfo mi;
    if (cell_mountinfo_parse(line, &mi) < 0) continue;
    const char *root = mi.root, *mnt = mi.point, *fstype = mi.fstype, *super = mi.super;
    if (strcmp(fstype, "cgroup2") == 0) {
      if (!v2mnt) {
        v2mnt = strdup(mnt);
        v2root = strdup(root);
      }
    } else if (strcmp(fstype, "cgroup") == 0) {
      for (int r = 0; r < R_UNIFIED; r++) {
        if (!h->mnt[r] && has_opt(super, role_ctrl[r])) {
          h->mnt[r] = strdup(mnt);
          h->mroot[r] = strdup(root);
        }
      }
    }
  }
  free(line);
  fclose(f);
  if (v2mnt) {
    h->mnt[R_UNIFIED] = v2mnt;
    h->mroot[R_UNIFIED] = v2root;
    h->v2[R_UNIFIED] = 1;
    char p[4200], ctrls[512] = "";
    snprintf(p, sizeof(p), "%s/cgroup.controllers", v2mnt);
    FILE *c = fopen(p, "re");
    if (c) {
      if (!fgets(ctrls, sizeof(ctrls), c)) ctrls[0] = '\0';
      fclose(c);
    }
    for (int r = 0; r < R_UNIFIED; r++) {
      if (h->mnt[r]) continue;
      /* cpu.stat (usage) exists in every cgroup2 group, controller or not */
      int ok = r == R_CPUACCT;
      if (v2_ctrl[r]) {
        char word[32];
        snprintf(word, sizeof(word), "%s", v2_ctrl[r]);
        for (char *tok = strtok(ctrls[0] ? strdupa(ctrls) : strdupa(""), " \n"); tok;
             tok = strtok(NULL, " \n"))
          if (strcmp(tok, word) == 0) ok = 1;
      }
      if (ok) {
        h->mnt[r] = strdup(v2mnt);
        h->mroot[r] = strdup(v2root);
        h->v2[r] = 1;
      }
    }
  }
  for (int i = 0; i < H_NFILES; i++) {
    char p[4200];
    if (host_paths[i][0] == '/') snprintf(p, sizeof(p), "%s", host_paths[i]);
    else snprintf(p, sizeof(p), "%s/%s", h->proc, host_paths[i]);
    h->hostfd[i] = open(p, O_RDONLY | O_CLOEXEC);
    if (h->hostfd[i] < 0 && i <= H_SWAPS) {
      int e = errno;
      fsv_host_free(h);
      return cell_error(err, e, "open host file %s", p);
    }
  }
  struct stat st;
  char p[256];
  snprintf(p, sizeof(p), "%s/self/ns/pid", h->proc);
  if (stat(p, &st) == 0) h->host_pidns = st.st_ino;
  return 0;
}

void fsv_host_free(struct fsv_host *h) {
  for (int r = 0; r < R_NROLES; r++) {
    free(h->mnt[r]);
    free(h->mroot[r]);
    h->mnt[r] = h->mroot[r] = NULL;
  }
  for (int i = 0; i < H_NFILES; i++) {
    if (h->hostfd[i] >= 0) close(h->hostfd[i]);
    h->hostfd[i] = -1;
  }
}

/* pread a whole file from offset 0 into b (NUL terminated). */
static int pread_all(int fd, struct fsv_buf *b) {
  fsv_buf_reset(b);
  int rc = cell_pread_all(fd, &b->p, &b->len, &b->cap);
  if (rc < 0 && errno == ENOMEM) b->oom = 1;
  return rc;
}

int fsv_read_host(const struct fsv_host *h, enum fsv_hostfile f, struct fsv_buf *b) {
  if (h->hostfd[f] < 0) {
    errno = ENOENT;
    return -1;
  }
  return pread_all(h->hostfd[f], b);
}

static int read_path(const char *path, struct fsv_buf *b) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = pread_all(fd, b);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

/* ------------------------------------------------------------ cgroup table */

#define PID_SLOTS 4096
#define NS_SLOTS 256
#define CG_BUCKETS 1024

struct pid_ent {
  pid_t pid;
  uint64_t stamp;
  struct fsv_cg *cg;
  double init_start;
};

struct ns_ent {
  uint64_t ino;
  pid_t init;
  uint64_t start_ticks;
};

struct fsv_cgtab {
  struct fsv_host *h;
  uint64_t ttl;
  pthread_mutex_t lock;
  struct fsv_cg *bucket[CG_BUCKETS];
  int ncg;
  int nfds;   /* cgroup file fds open (atomic) */
  int maxfds; /* bound of nfds, from RLIMIT_NOFILE */
  struct pid_ent pids[PID_SLOTS];
  struct ns_ent ns[NS_SLOTS];
};

struct fsv_cgtab *fsv_cgtab_new(struct fsv_host *h, uint64_t pid_ttl_ns) {
  struct fsv_cgtab *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->h = h;
  t->ttl = pid_ttl_ns;
  /* half the soft limit (raised to the hard one at start) minus what the
   * worker needs besides: /dev/fuse, host files, transient /proc reads */
  struct rlimit rl;
  rlim_t cur = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  if (cur == RLIM_INFINITY || cur > (1 << 20)) cur = 1 << 20;
  t->maxfds = cur > 128 ? (int)(cur - 64) / 2 : 32;
  pthread_mutex_init(&t->lock, NULL);
  return t;
}

int fsv_cgtab_fds(struct fsv_cgtab *t) { return __atomic_load_n(&t->nfds, __ATOMIC_RELAXED); }
int fsv_cgtab_maxfds(struct fsv_cgtab *t) { return t->maxfds; }

/* Close every cached fd of cg (nobody may be using them). */
static void cg_close_fds(struct fsv_cgtab *t, struct fsv_cg *cg) {
  int n = 0;
  for (int f = 0; f < F_NFILES; f++)
    for (int d = 0; d < FSV_MAXDEPTH; d++) {
      if (cg->fd[f][d] >= 0) {
        close(cg->fd[f][d]);
        n++;
      }
      cg->fd[f][d] = -2;
    }
  __atomic_sub_fetch(&cg->nfds, n, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&t->nfds, n, __ATOMIC_RELAXED);
}

static void cg_free(struct fsv_cgtab *t, struct fsv_cg *cg) {
  cg_close_fds(t, cg);
  for (int r = 0; r < R_NROLES; r++) free(cg->path[r]);
  for (int v = 0; v < FSV_NVIEWS; v++) fsv_text_put(cg->views[v]);
  free(cg->key);
  pthread_mutex_destroy(&cg->lock);
  pthread_mutex_destroy(&cg->vlock);
  free(cg);
}

void fsv_cgtab_free(struct fsv_cgtab *t) {
  if (!t) return;
  for (int i = 0; i < CG_BUCKETS; i++) {
    struct fsv_cg *cg = t->bucket[i];
    while (cg) {
      struct fsv_cg *n = cg->next;
      cg_free(t, cg);
      cg = n;
    }
  }
  pthread_mutex_destroy(&t->lock);
  free(t);
}

int fsv_cgtab_count(struct fsv_cgtab *t) {
  pthread_mutex_lock(&t->lock);
  int n = t->ncg;
  pthread_mutex_unlock(&t->lock);
  return n;
}

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Build a cg from the text of /proc/PID/cgroup. */
static struct fsv_cg *cg_new(const struct fsv_host *h, const char *text, uint64_t hash) {
  struct fsv_cg *cg = calloc(1, sizeof(*cg));
  if (!cg) return NULL;
  cg->key = strdup(text);
  cg->hash = hash;
  pthread_mutex_init(&cg->lock, NULL);
  pthread_mutex_init(&cg->vlock, NULL);
  for (int f = 0; f < F_NFILES; f++)
    for (int d = 0; d < FSV_MAXDEPTH; d++) cg->fd[f][d] = -2;
  if (!cg->key) {
    free(cg);
    return NULL;
  }
  const char *p = text;
  char *v2path = NULL;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    char *line = strndup(p, len);
    char *c1 = line ? strchr(line, ':') : NULL;
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c1 && c2) {
      *c1 = *c2 = '\0';
      const char *ctrls = c1 + 1, *path = c2 + 1;
      if (strcmp(line, "0") == 0 && *ctrls == '\0') {
        free(v2path);
        v2path = strdup(path);
      } else {
        for (int r = 0; r < R_UNIFIED; r++)
          if (h->mnt[r] && !h->v2[r] && has_opt(ctrls, role_ctrl[r])) {
            free(cg->path[r]);
            cg->path[r] = strdup(path);
          }
      }
    }
    free(line);
    if (!eol) break;
    p = eol + 1;
  }
  for (int r = 0; r < R_NROLES; r++)
    if (h->mnt[r] && h->v2[r] && v2path && !cg->path[r]) cg->path[r] = strdup(v2path);
  free(v2path);
  /* make paths relative to each mount's root; count depth */
  for (int r = 0; r < R_NROLES; r++) {
    if (!cg->path[r]) continue;
    const char *root = h->mroot[r] ? h->mroot[r] : "/";
    size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
    char *rel;
    if (rl && strncmp(cg->path[r], root, rl) == 0 &&
        (cg->path[r][rl] == '/' || cg->path[r][rl] == '\0'))
      rel = strdup(cg->path[r] + rl);
    else if (rl)
      rel = NULL; /* outside what this mount shows */
    else
      rel = strdup(cg->path[r]);
    free(cg->path[r]);
    cg->path[r] = rel;
    if (!rel) continue;
    /* strip trailing "/" and count components */
    size_t n = strlen(rel);
    while (n > 0 && rel[n - 1] == '/') rel[--n] = '\0';
    int d = 0;
    for (char *q = rel; *q; q++)
      if (*q == '/' && q[1]) d++;
    cg->depth[r] = d;
  }
  return cg;
}

int fsv_cg_is_root(const struct fsv_cg *cg, enum fsv_role role) {
  return !cg || !cg->path[role] || cg->path[role][0] == '\0';
}

void fsv_cg_put(struct fsv_cgtab *t, struct fsv_cg *cg) {
  if (!cg) return;
  pthread_mutex_lock(&t->lock);
  cg->refs--;
  cg->active--;
  pthread_mutex_unlock(&t->lock);
}

static void sample_cg(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_tls *tls, int decay);

/* The directory of role r of cg, `depth` levels up, into path. */
static void cg_dir(const struct fsv_host *h, const struct fsv_cg *cg, enum fsv_role r, int depth,
                   char *path, size_t size) {
  size_t n = strlen(cg->path[r]);
  for (int d = 0; d < depth && n > 0; d++) {
    while (n > 0 && cg->path[r][n - 1] != '/') n--;
    if (n > 0) n--; /* the slash */
  }
  snprintf(path, size, "%s%.*s", h->mnt[r], (int)n, cg->path[r]);
}

/* The identity of cg's cgroups: the inode of each role's directory.
 * -1 with errno when a directory is gone. */
static int cg_identity(const struct fsv_host *h, const struct fsv_cg *cg, uint64_t *ino) {
  for (int r = 0; r < R_NROLES; r++) {
    ino[r] = 0;
    if (!h->mnt[r] || !cg->path[r]) continue;
    char path[4200];
    struct stat st;
    cg_dir(h, cg, (enum fsv_role)r, 0, path, sizeof(path));
    if (stat(path, &st) < 0) return -1;
    ino[r] = (uint64_t)st.st_ino;
  }
  return 0;
}

static int same_cg(const struct fsv_cg *cg, uint64_t hash, const char *text, const uint64_t *ino) {
  return !__atomic_load_n(&cg->stale, __ATOMIC_ACQUIRE) && cg->hash == hash &&
         strcmp(cg->key, text) == 0 && (!ino || memcmp(cg->ino, ino, sizeof(cg->ino)) == 0);
}

/* Find or create the cg of this cgroup text; returns it referenced, or
 * NULL with errno. */
static struct fsv_cg *cg_get(struct fsv_cgtab *t, const char *text, struct fsv_tls *tls) {
  uint64_t hash = fnv(text);
  size_t b = hash % CG_BUCKETS;
  uint64_t ino[R_NROLES];
  struct fsv_cg *nc = cg_new(t->h, text, hash);
  if (!nc) {
    errno = ENOMEM;
    return NULL;
  }
  if (cg_identity(t->h, nc, ino) < 0) {
    int e = errno;
    cg_free(t, nc);
    errno = e == ENOENT ? ENODEV : e; /* the cgroup was removed meanwhile */
    return NULL;
  }
  memcpy(nc->ino, ino, sizeof(ino));
  uint64_t g = hash;
  for (int r = 0; r < R_NROLES; r++) g = (g ^ ino[r]) * 1099511628211ULL;
  nc->gid = (g ^ (g >> 48)) & 0xFFFFFFFFFFFFULL;
  if (!nc->gid) nc->gid = 1;
  pthread_mutex_lock(&t->lock);
  for (struct fsv_cg *cg = t->bucket[b]; cg; cg = cg->next) {
    if (cg->hash == hash && strcmp(cg->key, text) == 0 &&
        memcmp(cg->ino, ino, sizeof(ino)) != 0)
      __atomic_store_n(&cg->stale, 1, __ATOMIC_RELEASE); /* same path, another cgroup */
    if (same_cg(cg, hash, text, ino)) {
      cg->refs++;
      cg->active++;
      cg->last_used = fsv_now_ns();
      pthread_mutex_unlock(&t->lock);
      cg_free(t, nc);
      return cg;
    }
  }
  pthread_mutex_unlock(&t->lock);
  sample_cg(t, nc, tls, 0);
  pthread_mutex_lock(&t->lock);
  for (struct fsv_cg *cg = t->bucket[b]; cg; cg = cg->next) {
    if (same_cg(cg, hash, text, ino)) { /* lost a race */
      cg->refs++;
      cg->active++;
      pthread_mutex_unlock(&t->lock);
      cg_free(t, nc);
      return cg;
    }
  }
  nc->refs = 1;
  nc->active = 1;
  nc->last_used = nc->born = fsv_now_ns();
  nc->next = t->bucket[b];
  t->bucket[b] = nc;
  t->ncg++;
  pthread_mutex_unlock(&t->lock);
  return nc;
}

/* ------------------------------------------------------------ pid resolution */

static int proc_nspid(struct fsv_cgtab *t, pid_t pid, struct fsv_buf *b, long *last, int *levels) {
  char p[64];
  snprintf(p, sizeof(p), "%s/%d/status", t->h->proc, (int)pid);
  if (read_path(p, b) < 0) return -1;
  const char *l = strstr(b->p, "\nNSpid:");
  if (!l) {
    *levels = 1; /* kernel without NSpid: assume the host namespace */
    *last = pid;
    return 0;
  }
  l += 7;
  int n = 0;
  long v = 0;
  while (*l && *l != '\n') {
    char *end;
    long x = strtol(l, &end, 10);
    if (end == l) break;
    v = x;
    n++;
    l = end;
  }
  *levels = n;
  *last = v;
  return 0;
}

static uint64_t proc_ns_ino(struct fsv_cgtab *t, pid_t pid) {
  char p[64];
  struct stat st;
  snprintf(p, sizeof(p), "%s/%d/ns/pid", t->h->proc, (int)pid);
  return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int proc_start(struct fsv_cgtab *t, pid_t pid, struct fsv_buf *b, uint64_t *ticks) {
  char p[64];
  snprintf(p, sizeof(p), "%s/%d/stat", t->h->proc, (int)pid);
  if (read_path(p, b) < 0) return -1;
  const char *q = strrchr(b->p, ')');
  if (!q) return -1;
  q++;
  for (int field = 3; field < 22; field++) {
    while (*q == ' ') q++;
    while (*q && *q != ' ') q++;
  }
  *ticks = strtoull(q, NULL, 10);
  return 0;
}

/* Host pid of the init of pid namespace `ino`, cached; scans /proc on miss. */
static pid_t find_init(struct fsv_cgtab *t, uint64_t ino, struct fsv_buf *b, uint64_t *start) {
  struct ns_ent *e = &t->ns[ino % NS_SLOTS];
  pthread_mutex_lock(&t->lock);
  struct ns_ent c = *e;
  pthread_mutex_unlock(&t->lock);
  if (c.ino == ino && c.init > 0) {
    uint64_t st;
    if (proc_ns_ino(t, c.init) == ino && proc_start(t, c.init, b, &st) == 0 &&
        st == c.start_ticks) {
      *start = st;
      return c.init;
    }
  }
  char p[64];
  snprintf(p, sizeof(p), "%s", t->h->proc);
  DIR *d = opendir(p);
  if (!d) return -1;
  pid_t found = -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!isdigit((unsigned char)de->d_name[0])) continue;
    pid_t pid = (pid_t)atoi(de->d_name);
    if (proc_ns_ino(t, pid) != ino) continue;
    long last;
    int levels;
    if (proc_nspid(t, pid, b, &last, &levels) == 0 && last == 1) {
      found = pid;
      break;
    }
  }
  closedir(d);
  if (found < 0 || proc_start(t, found, b, start) < 0) return -1;
  pthread_mutex_lock(&t->lock);
  e->ino = ino;
  e->init = found;
  e->start_ticks = *start;
  pthread_mutex_unlock(&t->lock);
  return found;
}

int fsv_resolve(struct fsv_cgtab *t, pid_t pid, struct fsv_reader *r, struct fsv_tls *tls,
                struct cell_err *err) {
  r->cg = NULL;
  r->init_start = 0;
  if (pid <= 0) return 0; /* kernel-internal request: host view */
  uint64_t now = fsv_now_ns();
  struct pid_ent *pe = &t->pids[pid % PID_SLOTS];
  pthread_mutex_lock(&t->lock);
  if (pe->pid == pid && pe->cg && now - pe->stamp < t->ttl &&
      !__atomic_load_n(&pe->cg->stale, __ATOMIC_ACQUIRE)) {
    r->cg = pe->cg;
    r->cg->refs++;
    r->cg->active++;
    r->cg->last_used = now;
    r->init_start = pe->init_start;
    pthread_mutex_unlock(&t->lock);
    return 0;
  }
  pthread_mutex_unlock(&t->lock);

  fsv_blocking(); /* reads /proc, may scan it for a pid namespace's init */
  long last;
  int levels;
  if (proc_nspid(t, pid, &tls->a, &last, &levels) < 0)
    return cell_error(err, errno, "reader pid %d: read %s/%d/status", (int)pid, t->h->proc,
                      (int)pid);
  pid_t target = pid;
  uint64_t ino = levels > 1 ? proc_ns_ino(t, pid) : 0;
  if (levels > 1 && ino && ino != t->h->host_pidns) {
    uint64_t start = 0;
    pid_t init = find_init(t, ino, &tls->a, &start);
    if (init > 0) {
      target = init;
      r->init_start = (double)start / (double)t->h->hz;
    }
  }
  char p[64];
  snprintf(p, sizeof(p), "%s/%d/cgroup", t->h->proc, (int)target);
  if (read_path(p, &tls->a) < 0)
    return cell_error(err, errno, "reader pid %d: read %s", (int)pid, p);
  struct fsv_cg *cg = cg_get(t, tls->a.p, tls);
  if (!cg)
    return cell_error(err, errno == ENOMEM ? ENOMEM : EIO, "reader pid %d: cgroup of %s: %s",
                      (int)pid, p, strerror(errno));
  r->cg = cg;
  pthread_mutex_lock(&t->lock);
  struct fsv_cg *old = pe->cg;
  pe->pid = pid;
  pe->stamp = now;
  pe->cg = cg;
  pe->init_start = r->init_start;
  cg->refs++; /* the pid cache's reference */
  if (old) old->refs--;
  pthread_mutex_unlock(&t->lock);
  return 0;
}

void fsv_sweep(struct fsv_cgtab *t) {
  uint64_t now = fsv_now_ns();
  pthread_mutex_lock(&t->lock);
  for (int i = 0; i < PID_SLOTS; i++) {
    struct pid_ent *pe = &t->pids[i];
    if (pe->cg && now - pe->stamp >= t->ttl) {
      pe->cg->refs--;
      pe->cg = NULL;
      pe->pid = 0;
    }
  }
  /* keep idle cgroups a minute (their load average); fewer when many */
  uint64_t idle = t->ncg > 256 ? 5000000000ULL : 60000000000ULL;
  for (int i = 0; i < CG_BUCKETS; i++) {
    struct fsv_cg **pp = &t->bucket[i];
    while (*pp) {
      struct fsv_cg *cg = *pp;
      if (cg->refs == 0 && (cg->stale || now - cg->last_used >= idle)) {
        *pp = cg->next;
        t->ncg--;
        cg_free(t, cg);
      } else {
        pp = &cg->next;
      }
    }
  }
  pthread_mutex_unlock(&t->lock);
}

/* ------------------------------------------------------------ cgroup files */

static const char *fname[F_NFILES][2] = {
    [F_MEM_STAT] = {"memory.stat", "memory.stat"},
    [F_MEM_USAGE] = {"memory.usage_in_bytes", "memory.current"},
    [F_MEM_MAX] = {"memory.limit_in_bytes", "memory.max"},
    [F_SWAP_USAGE] = {"memory.memsw.usage_in_bytes", "memory.swap.current"},
    [F_SWAP_MAX] = {"memory.memsw.limit_in_bytes", "memory.swap.max"},
    [F_CPUSET] = {"cpuset.effective_cpus", "cpuset.cpus.effective"},
    [F_CPU_QUOTA] = {"cpu.cfs_quota_us", "cpu.max"},
    [F_CPU_PERIOD] = {"cpu.cfs_period_us", NULL},
    [F_CPU_USAGE] = {"cpuacct.usage_all", "cpu.stat"},
    [F_CPUACCT_STAT] = {"cpuacct.stat", NULL},
    [F_IO_A] = {"blkio.throttle.io_service_bytes_recursive", "io.stat"},
    [F_IO_B] = {"blkio.throttle.io_serviced_recursive", NULL},
    [F_TASKS] = {"tasks", "cgroup.threads"},
    [F_PSI_CPU] = {NULL, "cpu.pressure"},
    [F_PSI_MEM] = {NULL, "memory.pressure"},
    [F_PSI_IO] = {NULL, "io.pressure"},
};
static const enum fsv_role frole[F_NFILES] = {
    [F_MEM_STAT] = R_MEM,     [F_MEM_USAGE] = R_MEM,      [F_MEM_MAX] = R_MEM,
    [F_SWAP_USAGE] = R_MEM,   [F_SWAP_MAX] = R_MEM,       [F_CPUSET] = R_CPUSET,
    [F_CPU_QUOTA] = R_CPU,    [F_CPU_PERIOD] = R_CPU,     [F_CPU_USAGE] = R_CPUACCT,
    [F_CPUACCT_STAT] = R_CPUACCT, [F_IO_A] = R_BLKIO,     [F_IO_B] = R_BLKIO,
    [F_TASKS] = R_CPUACCT,    [F_PSI_CPU] = R_UNIFIED,    [F_PSI_MEM] = R_UNIFIED,
    [F_PSI_IO] = R_UNIFIED,
};

static enum fsv_role tasks_role(const struct fsv_host *h, const struct fsv_cg *cg) {
  static const enum fsv_role order[] = {R_CPUACCT, R_CPU, R_MEM, R_PIDS, R_UNIFIED};
  enum fsv_role any = R_NROLES;
  /* the most specific hierarchy: a host process may sit in a child cgroup
   * of one controller only */
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
    if (!h->mnt[order[i]] || !cg->path[order[i]]) continue;
    if (cg->path[order[i]][0]) return order[i];
    if (any == R_NROLES) any = order[i];
  }
  return any;
}

static int by_last_used(const void *a, const void *b) {
  const struct fsv_cg *x = *(struct fsv_cg *const *)a, *y = *(struct fsv_cg *const *)b;
  return x->last_used < y->last_used ? -1 : x->last_used > y->last_used;
}

/* Over the fd bound: close the fds of the least recently used cgroups no
 * request is using, down to 3/4 of the bound (so trims are rare). */
static void trim_fds(struct fsv_cgtab *t) {
  pthread_mutex_lock(&t->lock);
  struct fsv_cg **list = calloc((size_t)t->ncg + 1, sizeof(*list));
  size_t n = 0;
  if (list)
    for (int i = 0; i < CG_BUCKETS; i++)
      for (struct fsv_cg *cg = t->bucket[i]; cg; cg = cg->next)
        if (cg->active == 0 && __atomic_load_n(&cg->nfds, __ATOMIC_RELAXED) > 0) list[n++] = cg;
  if (n) qsort(list, n, sizeof(*list), by_last_used);
  int target = t->maxfds / 4 * 3;
  for (size_t i = 0; i < n && __atomic_load_n(&t->nfds, __ATOMIC_RELAXED) > target; i++)
    cg_close_fds(t, list[i]);
  pthread_mutex_unlock(&t->lock);
  free(list);
}

/* fd of file f of the cgroup `depth` levels above cg; -1 (errno) if none */
static int cg_fd(struct fsv_cgtab *t, struct fsv_cg *cg, enum fsv_file f, int depth) {
  const struct fsv_host *h = t->h;
  enum fsv_role r = f == F_TASKS ? tasks_role(h, cg) : frole[f];
  if (r == R_NROLES || !h->mnt[r] || !cg->path[r] || depth >= FSV_MAXDEPTH ||
      depth > cg->depth[r]) {
    errno = ENOENT;
    return -1;
  }
  int *slot = &cg->fd[f][depth];
  int fd = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (fd != -2) {
    if (fd < 0) errno = ENOENT;
    return fd;
  }
  const char *name = fname[f][h->v2[r]];
  if (!name) {
    fd = -1;
  } else {
    char dir[4096], path[4200];
    cg_dir(h, cg, r, depth, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      struct stat st;
      if (e != ENOENT) return -1; /* EMFILE, ENOMEM...: an error, not an absent file */
      if (stat(dir, &st) < 0 || (depth == 0 && (uint64_t)st.st_ino != cg->ino[r])) {
        __atomic_store_n(&cg->stale, 1, __ATOMIC_RELEASE); /* the cgroup is gone */
        errno = ENODEV;
        return -1;
      }
      fd = -1; /* a file this cgroup does not have */
    }
  }
  int expected = -2;
  if (!__atomic_compare_exchange_n(slot, &expected, fd, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    if (fd >= 0) close(fd);
    fd = expected;
  } else if (fd >= 0) {
    __atomic_add_fetch(&cg->nfds, 1, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&t->nfds, 1, __ATOMIC_RELAXED) > t->maxfds) trim_fds(t);
  }
  if (fd < 0) errno = ENOENT;
  return fd;
}

static int cg_read_at(struct fsv_cgtab *t, struct fsv_cg *cg, enum fsv_file f, int depth,
                      struct fsv_buf *b) {
  int fd = cg_fd(t, cg, f, depth);
  if (fd < 0) return -1;
  if (pread_all(fd, b) < 0) {
    if (errno == ENODEV) __atomic_store_n(&cg->stale, 1, __ATOMIC_RELEASE); /* removed */
    return -1;
  }
  return 0;
}

int fsv_cg_read(struct fsv_cgtab *t, struct fsv_cg *cg, enum fsv_file f, struct fsv_buf *b) {
  return cg_read_at(t, cg, f, 0, b);
}

/* a cgroup file held something else than expected: an error, never ENOENT */
static int bad_text(void) {
  errno = EIO;
  return -1;
}

static int read_u64_at(struct fsv_cgtab *t, struct fsv_cg *cg, enum fsv_file f, int depth,
                       struct fsv_buf *b, uint64_t *v) {
  if (cg_read_at(t, cg, f, depth, b) < 0) return -1;
  return fsv_parse_u64_max(b->p, v) < 0 ? bad_text() : 0;
}

int fsv_collect_mem(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_mem *m,
                    struct fsv_tls *tls) {
  fsv_mem_init(m);
  const struct fsv_host *h = t->h;
  if (!h->mnt[R_MEM] || !cg->path[R_MEM]) {
    errno = ENOENT;
    return -1;
  }
  if (cg_read_at(t, cg, F_MEM_STAT, 0, &tls->b) < 0) return -1;
  uint64_t v;
  if (!h->v2[R_MEM]) {
    if (fsv_parse_memstat_v1(tls->b.p, m) < 0) return bad_text();
    if (read_u64_at(t, cg, F_MEM_USAGE, 0, &tls->b, &v) == 0) m->usage = v;
    else if (errno != ENOENT) return -1;
    uint64_t sw;
    if (read_u64_at(t, cg, F_SWAP_USAGE, 0, &tls->b, &sw) == 0) {
      if (sw >= m->usage) m->swap_usage = sw - m->usage;
    } else if (errno != ENOENT) {
      return -1;
    }
    if (m->memsw_limit != FSV_UNLIMITED && m->limit != FSV_UNLIMITED)
      m->swap_limit = m->memsw_limit > m->limit ? m->memsw_limit - m->limit : 0;
    return 0;
  }
  if (fsv_parse_memstat_v2(tls->b.p, m) < 0) return bad_text();
  if (read_u64_at(t, cg, F_MEM_USAGE, 0, &tls->b, &v) == 0) m->usage = v;
  else if (errno != ENOENT) return -1;
  if (read_u64_at(t, cg, F_SWAP_USAGE, 0, &tls->b, &v) == 0) m->swap_usage = v;
  else if (errno != ENOENT) return -1;
  for (int d = 0; d <= cg->depth[R_MEM] && d < FSV_MAXDEPTH; d++) {
    if (read_u64_at(t, cg, F_MEM_MAX, d, &tls->b, &v) == 0) {
      if (v < m->limit) m->limit = v;
    } else if (errno != ENOENT) {
      return -1;
    }
    if (read_u64_at(t, cg, F_SWAP_MAX, d, &tls->b, &v) == 0) {
      if (v < m->swap_limit) m->swap_limit = v;
    } else if (errno != ENOENT) {
      return -1;
    }
  }
  return 0;
}

int fsv_collect_cpu(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_cpu *c, int usage,
                    struct fsv_tls *tls) {
  const struct fsv_host *h = t->h;
  fsv_cpu_init(c);
  int have_set = 0;
  if (cg && !fsv_cg_is_root(cg, R_CPUSET)) {
    if (cg_read_at(t, cg, F_CPUSET, 0, &tls->b) == 0) {
      if (fsv_parse_cpulist(tls->b.p, c->cpuset) < 0) return bad_text();
      have_set = 1;
    } else if (errno != ENOENT) {
      return -1;
    }
  }
  if (!have_set) {
    if (fsv_read_host(h, H_ONLINE, &tls->b) < 0 || fsv_parse_cpulist(tls->b.p, c->cpuset) < 0)
      c->cpuset[0] = 1;
  }
  if (cg && h->mnt[R_CPU] && cg->path[R_CPU]) {
    for (int d = 0; d <= cg->depth[R_CPU] && d < FSV_MAXDEPTH; d++) {
      int64_t q = -1;
      uint64_t per = 100000;
      if (cg_read_at(t, cg, F_CPU_QUOTA, d, &tls->b) < 0) {
        if (errno != ENOENT) return -1;
        continue;
      }
      if (h->v2[R_CPU]) {
        if (fsv_parse_cpu_max(tls->b.p, &q, &per) < 0) return bad_text();
      } else {
        uint64_t pv;
        q = strtoll(tls->b.p, NULL, 10);
        if (read_u64_at(t, cg, F_CPU_PERIOD, d, &tls->b, &pv) == 0) {
          if (pv > 0) per = pv;
        } else if (errno != ENOENT) {
          return -1;
        }
      }
      fsv_cpu_tighten(&c->quota_us, &c->period_us, q, per);
    }
  }
  if (usage && cg) {
    if (cg_read_at(t, cg, F_CPU_USAGE, 0, &tls->b) == 0) {
      if (h->v2[R_CPUACCT] || fsv_parse_usage_all(tls->b.p, c) == 0) {
        if (h->v2[R_CPUACCT]) fsv_parse_cpu_stat_v2(tls->b.p, c);
        return 0;
      }
    } else if (errno != ENOENT) {
      return -1;
    }
    if (cg_read_at(t, cg, F_CPUACCT_STAT, 0, &tls->b) == 0)
      fsv_parse_cpuacct_stat(tls->b.p, c, h->hz);
    else if (errno != ENOENT)
      return -1;
  }
  return 0;
}

int fsv_collect_io(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_io *io,
                   struct fsv_tls *tls) {
  io->n = 0;
  if (cg_read_at(t, cg, F_IO_A, 0, &tls->b) < 0) return -1;
  if (t->h->v2[R_BLKIO]) return fsv_parse_io_stat(tls->b.p, io) < 0 ? bad_text() : 0;
  if (fsv_parse_blkio(tls->b.p, io, 0) < 0) return bad_text();
  if (cg_read_at(t, cg, F_IO_B, 0, &tls->b) == 0) fsv_parse_blkio(tls->b.p, io, 1);
  else if (errno != ENOENT) return -1;
  return 0;
}

void fsv_collect_tasks(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_tasks *tk) {
  (void)t;
  pthread_mutex_lock(&cg->lock);
  *tk = cg->tasks;
  pthread_mutex_unlock(&cg->lock);
}

/* ------------------------------------------------------------ loadavg */

static void sample_cg(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_tls *tls, int decay) {
  uint64_t ntasks = 0, running = 0, blocked = 0, lastpid = 0;
  if (cg_read_at(t, cg, F_TASKS, 0, &tls->c) < 0) return;
  char *p = tls->c.p;
  while (*p) {
    char *end;
    unsigned long tid = strtoul(p, &end, 10);
    if (end == p) break;
    ntasks++;
    if (tid > lastpid) lastpid = tid;
    char path[64];
    snprintf(path, sizeof(path), "%s/%lu/stat", t->h->proc, tid);
    char sbuf[512];
    if (cell_read_small(path, sbuf, sizeof(sbuf)) > 0) {
      char *rp = strrchr(sbuf, ')');
      if (rp && rp[1] == ' ') {
        if (rp[2] == 'R') running++;
        else if (rp[2] == 'D') blocked++;
      }
    }
    p = end;
    while (*p == '\n') p++;
  }
  pthread_mutex_lock(&cg->lock);
  cg->tasks.nr_tasks = ntasks;
  cg->tasks.nr_running = running;
  cg->tasks.nr_blocked = blocked;
  cg->tasks.last_pid = lastpid;
  if (decay)
    for (int i = 0; i < 3; i++)
      cg->tasks.load[i] = fsv_calc_load(cg->tasks.load[i], i, running + blocked);
  cg->sampled = 1;
  pthread_mutex_unlock(&cg->lock);
}

void fsv_sample_all(struct fsv_cgtab *t, struct fsv_tls *tls) {
  /* reference every cg, sample without the table lock, release */
  struct fsv_cg **list = NULL;
  size_t n = 0;
  pthread_mutex_lock(&t->lock);
  list = calloc((size_t)t->ncg + 1, sizeof(*list));
  if (list) {
    for (int i = 0; i < CG_BUCKETS; i++)
      for (struct fsv_cg *cg = t->bucket[i]; cg; cg = cg->next) {
        cg->refs++;
        cg->active++;
        list[n++] = cg;
      }
  }
  pthread_mutex_unlock(&t->lock);
  for (size_t i = 0; i < n; i++) {
    if (!fsv_cg_is_root(list[i], tasks_role(t->h, list[i]))) sample_cg(t, list[i], tls, 1);
    fsv_cg_put(t, list[i]);
  }
  free(list);
}
