/* fs.c - the cellfs tree, the render dispatch and the FUSE operations. */
#define FUSE_USE_VERSION 34
#include "fsview/fs.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the tree */

struct node {
  const char *name;
  fuse_ino_t parent;
  enum fsv_kind kind;
};

static const struct node nodes[] = {
    [0] = {NULL, 0, K_DIR},
    [1] = {"", 1, K_DIR},
    [2] = {"proc", 1, K_DIR},
    [3] = {"meminfo", 2, K_MEMINFO},
    [4] = {"cpuinfo", 2, K_CPUINFO},
    [5] = {"stat", 2, K_STAT},
    [6] = {"uptime", 2, K_UPTIME},
    [7] = {"loadavg", 2, K_LOADAVG},
    [8] = {"diskstats", 2, K_DISKSTATS},
    [9] = {"swaps", 2, K_SWAPS},
    [10] = {"pressure", 2, K_DIR},
    [11] = {"cpu", 10, K_PSI_CPU},
    [12] = {"memory", 10, K_PSI_MEM},
    [13] = {"io", 10, K_PSI_IO},
    [14] = {"sys", 1, K_DIR},
    [15] = {"devices", 14, K_DIR},
    [16] = {"system", 15, K_DIR},
    [17] = {"cpu", 16, K_DIR},
    [18] = {"online", 17, K_ONLINE},
    [19] = {"possible", 17, K_POSSIBLE},
    [20] = {"present", 17, K_PRESENT},
};
#define NNODES (sizeof(nodes) / sizeof(nodes[0]))

/* Inode numbers carry a group: ino = gid << 8 | node.  The kernel keeps
 * one page cache per inode, and sendfile/splice read through it: one inode
 * per (cgroup, file) keeps a container's pages away from every other
 * cgroup's readers.  "/.self-<unique>" is the tree of the cgroup of the
 * process that looks it up first (its group, a hash of the cgroup's
 * identity): cell's container init, already in its cgroup, binds the files
 * from "/.self-<random>".  The name is the binder's alone, so every dentry
 * stays valid (a name shared by readers of several cgroups and answered per
 * reader would be invalidated by each other's walks, and a bind of an
 * invalidated dentry fails with ENOENT).  "/.g<gid>" names one group
 * (cellfs's re-binds); the plain tree is group 0, shared by every reader as
 * before.  The number needs no table: any worker (a restarted one too) maps
 * it back to its node, and renders for the reader, not the inode. */
#define NODE_BITS 8
#define NODE(ino) ((ino) & ((1u << NODE_BITS) - 1))
static int ino_ok(fuse_ino_t ino) {
  fuse_ino_t n = NODE(ino);
  return n >= 1 && n < NNODES;
}

/* "/.g<12 hex digits>" is the tree of one group (FSV_GROUP_DIR): its files
 * have that group's inodes whoever looks them up.  cellfs's own re-binds
 * into running containers use it (their LOOKUPs come from cellfs). */
static int group_dir(const char *name, uint64_t *gid) {
  char *end;
  if (strncmp(name, ".g", 2) != 0 || strlen(name) != 14) return 0;
  *gid = strtoull(name + 2, &end, 16);
  return *end == '\0' && *gid != 0 && *gid < (1ULL << 48);
}

int fsv_kind_of(const char *path) {
  fuse_ino_t cur = 1;
  while (*path == '/') path++;
  while (*path) {
    const char *e = strchr(path, '/');
    size_t n = e ? (size_t)(e - path) : strlen(path);
    fuse_ino_t found = 0;
    for (fuse_ino_t i = 2; i < NNODES; i++)
      if (nodes[i].parent == cur && strlen(nodes[i].name) == n &&
          memcmp(nodes[i].name, path, n) == 0)
        found = i;
    if (!found) return -1;
    cur = found;
    path += n;
    while (*path == '/') path++;
  }
  return (int)nodes[cur].kind;
}

/* ------------------------------------------------------------ context */

int fsv_ctx_init(struct fsv_ctx *c, const struct fsv_opts *o, struct cell_err *err) {
  memset(c, 0, sizeof(*c));
  c->quota_view = o->quota_view;
  c->debug = o->debug;
  c->cache_ttl_ns = (uint64_t)o->cache_ms * 1000000ULL;
  pthread_mutex_init(&c->host_vlock, NULL);
  if (fsv_host_init(&c->host, o->mountinfo, o->proc, err) < 0) return -1;
  c->tab = fsv_cgtab_new(&c->host, (uint64_t)(o->pid_cache_ms ? o->pid_cache_ms : 1) * 1000000ULL);
  if (!c->tab) {
    fsv_host_free(&c->host);
    return cell_error(err, ENOMEM, "allocate the cgroup table");
  }
  return 0;
}

void fsv_ctx_free(struct fsv_ctx *c) {
  fsv_cgtab_free(c->tab);
  c->tab = NULL;
  for (int v = 0; v < FSV_NVIEWS; v++) {
    fsv_text_put(c->host_views[v]);
    c->host_views[v] = NULL;
  }
  pthread_mutex_destroy(&c->host_vlock);
  fsv_host_free(&c->host);
}

static const enum fsv_hostfile host_of[] = {
    [K_MEMINFO] = H_MEMINFO,   [K_CPUINFO] = H_CPUINFO, [K_STAT] = H_STAT,
    [K_UPTIME] = H_UPTIME,     [K_LOADAVG] = H_LOADAVG, [K_DISKSTATS] = H_DISKSTATS,
    [K_SWAPS] = H_SWAPS,       [K_PSI_CPU] = H_PSI_CPU, [K_PSI_MEM] = H_PSI_MEM,
    [K_PSI_IO] = H_PSI_IO,     [K_ONLINE] = H_ONLINE,   [K_POSSIBLE] = H_POSSIBLE,
    [K_PRESENT] = H_PRESENT,
};
static const char *host_name[] = {
    [K_MEMINFO] = "/proc/meminfo",   [K_CPUINFO] = "/proc/cpuinfo",
    [K_STAT] = "/proc/stat",         [K_UPTIME] = "/proc/uptime",
    [K_LOADAVG] = "/proc/loadavg",   [K_DISKSTATS] = "/proc/diskstats",
    [K_SWAPS] = "/proc/swaps",       [K_PSI_CPU] = "/proc/pressure/cpu",
    [K_PSI_MEM] = "/proc/pressure/memory", [K_PSI_IO] = "/proc/pressure/io",
    [K_ONLINE] = "/sys/devices/system/cpu/online",
    [K_POSSIBLE] = "/sys/devices/system/cpu/possible",
    [K_PRESENT] = "/sys/devices/system/cpu/present",
};

static int passthrough(struct fsv_ctx *c, enum fsv_kind k, struct fsv_buf *out,
                       struct cell_err *err) {
  if (fsv_read_host(&c->host, host_of[k], out) < 0)
    return cell_error(err, errno, "read host file %s", host_name[k]);
  return 0;
}

static int host_text(struct fsv_ctx *c, enum fsv_hostfile f, enum fsv_kind k,
                     struct fsv_buf *b, struct cell_err *err) {
  if (fsv_read_host(&c->host, f, b) < 0)
    return cell_error(err, errno, "read host file %s", host_name[k]);
  return 0;
}

/* Fail closed: the reader's cgroup could not be read (removed, replaced,
 * out of fds, unexpected text).  It gets EIO, never the host's file. */
static int closed(struct fsv_ctx *c, enum fsv_kind k, const char *what, struct cell_err *err) {
  (void)c;
  int e = errno;
  cell_error(err, EIO, "render %s: read the reader's %s cgroup: %s", host_name[k], what,
             strerror(e));
  return -1;
}

static int cpu_is_root(const struct fsv_cg *cg) {
  return fsv_cg_is_root(cg, R_CPUSET) && fsv_cg_is_root(cg, R_CPU);
}

/* Render `kind` for the resolved reader r into out. */
static int render_reader(struct fsv_ctx *c, enum fsv_kind kind, const struct fsv_reader *rd,
                         struct fsv_tls *tls, struct fsv_buf *out, struct cell_err *err) {
  struct fsv_reader r = *rd;
  struct fsv_cg *cg = r.cg;
  int rc = 0;
  fsv_buf_reset(out);
  static __thread struct fsv_cpu cpu; /* 16 KiB: not on the stack */
  static __thread struct fsv_io io;
  int ids[FSV_MAXCPU];
  switch (kind) {
  case K_MEMINFO:
  case K_SWAPS: {
    struct fsv_mem m;
    if (fsv_cg_is_root(cg, R_MEM)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    if (fsv_collect_mem(c->tab, cg, &m, tls) < 0) {
      /* ENOENT: a live cgroup without memory files (v2 memory not delegated) */
      rc = errno == ENOENT ? passthrough(c, kind, out, err) : closed(c, kind, "memory", err);
      break;
    }
    if ((rc = host_text(c, H_MEMINFO, K_MEMINFO, &tls->a, err)) < 0) break;
    if (kind == K_MEMINFO) fsv_render_meminfo(tls->a.p, &m, out);
    else fsv_render_swaps(tls->a.p, &m, out);
    break;
  }
  case K_CPUINFO:
  case K_ONLINE:
  case K_POSSIBLE:
  case K_PRESENT: {
    if (cpu_is_root(cg)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    if (fsv_collect_cpu(c->tab, cg, &cpu, 0, tls) < 0) {
      rc = closed(c, kind, "cpu", err);
      break;
    }
    int n = fsv_visible_cpus(&cpu, c->quota_view, ids, FSV_MAXCPU);
    if (kind == K_CPUINFO) {
      if ((rc = host_text(c, H_CPUINFO, kind, &tls->a, err)) < 0) break;
      fsv_render_cpuinfo(tls->a.p, ids, n, out);
    } else {
      fsv_render_cpulist(ids, n, out);
    }
    break;
  }
  case K_STAT: {
    if (cpu_is_root(cg) && fsv_cg_is_root(cg, R_CPUACCT)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    if (fsv_collect_cpu(c->tab, cg, &cpu, 1, tls) < 0) {
      rc = closed(c, kind, "cpu", err);
      break;
    }
    int n = fsv_visible_cpus(&cpu, c->quota_view, ids, FSV_MAXCPU);
    struct fsv_tasks tk;
    fsv_collect_tasks(c->tab, cg, &tk);
    if ((rc = host_text(c, H_STAT, kind, &tls->a, err)) < 0) break;
    fsv_render_stat(tls->a.p, &cpu, ids, n, &tk, out);
    break;
  }
  case K_UPTIME: {
    if (r.init_start == 0 && fsv_cg_is_root(cg, R_CPUACCT)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    if ((rc = host_text(c, H_UPTIME, kind, &tls->a, err)) < 0) break;
    double up = strtod(tls->a.p, NULL);
    if (fsv_collect_cpu(c->tab, cg, &cpu, 1, tls) < 0) {
      rc = closed(c, kind, "cpu", err);
      break;
    }
    int n = fsv_visible_cpus(&cpu, c->quota_view, ids, FSV_MAXCPU);
    fsv_render_uptime(up, r.init_start, &cpu, n, out);
    break;
  }
  case K_LOADAVG: {
    if (fsv_cg_is_root(cg, R_CPUACCT) && fsv_cg_is_root(cg, R_CPU) &&
        fsv_cg_is_root(cg, R_MEM) && fsv_cg_is_root(cg, R_UNIFIED)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    struct fsv_tasks tk;
    fsv_collect_tasks(c->tab, cg, &tk);
    fsv_render_loadavg(&tk, out);
    break;
  }
  case K_DISKSTATS: {
    if (fsv_cg_is_root(cg, R_BLKIO)) {
      rc = passthrough(c, kind, out, err);
      break;
    }
    if (fsv_collect_io(c->tab, cg, &io, tls) < 0) {
      /* a live cgroup without the io files (v2 io not delegated to it) */
      rc = errno == ENOENT ? passthrough(c, kind, out, err) : closed(c, kind, "io", err);
      break;
    }
    if ((rc = host_text(c, H_DISKSTATS, kind, &tls->a, err)) < 0) break;
    fsv_render_diskstats(tls->a.p, &io, out);
    break;
  }
  case K_PSI_CPU:
  case K_PSI_MEM:
  case K_PSI_IO: {
    enum fsv_file f = kind == K_PSI_CPU ? F_PSI_CPU : kind == K_PSI_MEM ? F_PSI_MEM : F_PSI_IO;
    if (fsv_cg_is_root(cg, R_UNIFIED)) rc = passthrough(c, kind, out, err);
    else if (fsv_cg_read(c->tab, cg, f, out) < 0)
      rc = errno == ENOENT ? passthrough(c, kind, out, err) : closed(c, kind, "pressure", err);
    break;
  }
  case K_DIR:
    rc = cell_error(err, EISDIR, "render a directory");
    break;
  }
  if (rc == 0 && out->oom) return cell_error(err, ENOMEM, "render %s", host_name[kind]);
  return rc;
}

int fsv_render_for(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
                   struct fsv_buf *out, struct cell_err *err) {
  struct fsv_reader r;
  fsv_buf_reset(out);
  if (fsv_resolve(c->tab, pid, &r, tls, err) < 0) return -1;
  int rc = render_reader(c, kind, &r, tls, out, err);
  fsv_cg_put(c->tab, r.cg);
  return rc;
}

/* ------------------------------------------------------------ render cache
 *
 * A render is shared by every reader of the same container cgroup for
 * cache_ttl_ns (cellfs --cache-ms, default 100 ms): a burst of readers of
 * one container (8 `free` loops, a monitoring agent) reads its cgroup files
 * once per period instead of once per open.  The kernel itself refreshes
 * memcg statistics only every ~2 s, so memory values are as fresh as a
 * direct read; CPU times and uptime lag by at most the TTL.  Two containers
 * never share a text: the key is the reader's cgroup set (struct fsv_cg).
 */

/* A runtime starting a container stats the files when it bind-mounts them
 * (a GETATTR from the container's first process) before it writes the
 * container's limits: a cgroup cellfs has known for less than this is
 * rendered afresh for every open, so no text from before its limits were
 * set is shared. */
#define CACHE_GRACE_NS (1000 * 1000000ULL)

/* publish: store a fresh render in the cache (opens and reads); attribute
 * requests only use a cached text, they never publish one. */
static int view_get(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
                    struct fsv_text **out, int publish, uint64_t *gid, struct cell_err *err) {
  struct fsv_reader r;
  *out = NULL;
  if ((unsigned)kind >= FSV_NVIEWS) return cell_error(err, EINVAL, "render file kind %d", kind);
  if (fsv_resolve(c->tab, pid, &r, tls, err) < 0) return -1;
  if (gid) *gid = r.cg ? r.cg->gid : 0;
  struct fsv_text **slot = r.cg ? &r.cg->views[kind] : &c->host_views[kind];
  pthread_mutex_t *lock = r.cg ? &r.cg->vlock : &c->host_vlock;
  uint64_t now = fsv_now_ns();
  struct fsv_text *t = NULL;
  if (c->cache_ttl_ns) {
    pthread_mutex_lock(lock);
    struct fsv_text *cur = *slot;
    if (cur && now - cur->stamp < c->cache_ttl_ns &&
        (kind != K_UPTIME || cur->init_start == r.init_start))
      t = fsv_text_ref(cur);
    pthread_mutex_unlock(lock);
  }
  int rc = 0;
  if (!t) {
    fsv_blocking(); /* reads cgroup and /proc files */
    rc = render_reader(c, kind, &r, tls, &tls->out, err);
    if (rc == 0 && !(t = fsv_text_new(tls->out.p, tls->out.len)))
      rc = cell_error(err, ENOMEM, "render %s", host_name[kind]);
    if (rc == 0) {
      t->stamp = now; /* taken before any value was read */
      t->init_start = r.init_start;
      if (c->cache_ttl_ns && publish && (!r.cg || now - r.cg->born >= CACHE_GRACE_NS)) {
        pthread_mutex_lock(lock);
        struct fsv_text *old = *slot;
        if (!old || old->stamp <= now) {
          *slot = fsv_text_ref(t);
        } else {
          old = NULL; /* a newer render was published meanwhile */
        }
        pthread_mutex_unlock(lock);
        fsv_text_put(old);
      }
    }
  }
  fsv_cg_put(c->tab, r.cg);
  *out = t;
  return rc;
}

/* An OPEN served the text its reader's LOOKUP/GETATTR rendered just before
 * (the reader walks the path, so every open has one): publish it as an
 * open's own render would be. */
static void view_publish(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
                         struct fsv_text *t) {
  struct fsv_reader r;
  struct cell_err err = {0};
  if (!c->cache_ttl_ns || (unsigned)kind >= FSV_NVIEWS ||
      fsv_resolve(c->tab, pid, &r, tls, &err) < 0)
    return;
  if (r.cg && t->stamp - r.cg->born >= CACHE_GRACE_NS && t->stamp >= r.cg->born &&
      (kind != K_UPTIME || t->init_start == r.init_start)) {
    pthread_mutex_lock(&r.cg->vlock);
    struct fsv_text *old = r.cg->views[kind];
    if (old != t && (!old || old->stamp < t->stamp)) r.cg->views[kind] = fsv_text_ref(t);
    else old = NULL;
    pthread_mutex_unlock(&r.cg->vlock);
    fsv_text_put(old);
  }
  fsv_cg_put(c->tab, r.cg);
}

int fsv_view(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
             struct fsv_text **out, struct cell_err *err) {
  return view_get(c, kind, pid, tls, out, 1, NULL, err);
}

/* ------------------------------------------------------------ handles */

#define NHANDLES 4096

struct handle {
  struct fsv_text *text; /* the render this handle serves (referenced) */
  int served;            /* a read was answered from it: the next read at 0 renders anew */
  int next_free;
};

static struct handle *handles;
static int free_head = -1;
static uint32_t handle_gen;
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;
__thread struct fsv_tls *fsv_cur_tls;
struct fuse_session *fsv_session;
int fsv_nthreads = 1;

int fsv_handles_init(uint32_t gen) {
  handles = calloc(NHANDLES, sizeof(*handles));
  if (!handles) return -1;
  for (int i = 0; i < NHANDLES; i++) handles[i].next_free = i + 1 < NHANDLES ? i + 1 : -1;
  free_head = 0;
  handle_gen = gen;
  return 0;
}

static void pre_free(void);

void fsv_handles_free(void) {
  pre_free();
  if (!handles) return;
  for (int i = 0; i < NHANDLES; i++) fsv_text_put(handles[i].text);
  free(handles);
  handles = NULL;
}

/* fh = gen << 32 | (index + 1); 0 = no handle (render on every read) */
static uint64_t handle_get(void) {
  pthread_mutex_lock(&handle_lock);
  int i = free_head;
  if (i >= 0) free_head = handles[i].next_free;
  pthread_mutex_unlock(&handle_lock);
  if (i < 0) return 0;
  handles[i].text = NULL;
  handles[i].served = 0;
  return ((uint64_t)handle_gen << 32) | (uint64_t)(i + 1);
}

static struct handle *handle_of(uint64_t fh) {
  if (!fh || (fh >> 32) != handle_gen || !handles) return NULL; /* a dead worker's */
  uint32_t i = (uint32_t)fh - 1;
  return i < NHANDLES ? &handles[i] : NULL;
}

static void handle_put(uint64_t fh) {
  struct handle *h = handle_of(fh);
  if (!h) return;
  fsv_text_put(h->text);
  h->text = NULL;
  int i = (int)(h - handles);
  pthread_mutex_lock(&handle_lock);
  handles[i].next_free = free_head;
  free_head = i;
  pthread_mutex_unlock(&handle_lock);
}

/* ------------------------------------------------------------ prerenders
 *
 * LOOKUP and GETATTR report a file's exact size as its reader sees it, so
 * they render it.  The render is kept briefly per (pid, inode) and the next
 * OPEN by that pid serves it, so the size the reader was told and the text
 * it reads agree (sendfile/splice read through the page cache up to i_size).
 */

#define NPRE 64
#define PRE_TTL_NS (200 * 1000000ULL)

struct prerender {
  pthread_mutex_t lock;
  pid_t pid;
  fuse_ino_t ino;
  uint64_t stamp;
  struct fsv_text *text;
};

static struct prerender pre[NPRE];
static pthread_once_t pre_once = PTHREAD_ONCE_INIT;

static void pre_init(void) {
  for (int i = 0; i < NPRE; i++) pthread_mutex_init(&pre[i].lock, NULL);
}

static void pre_free(void) {
  pthread_once(&pre_once, pre_init);
  for (int i = 0; i < NPRE; i++) {
    pthread_mutex_lock(&pre[i].lock);
    fsv_text_put(pre[i].text);
    pre[i].text = NULL;
    pre[i].pid = 0;
    pthread_mutex_unlock(&pre[i].lock);
  }
}

static struct prerender *pre_slot(pid_t pid, fuse_ino_t ino) {
  pthread_once(&pre_once, pre_init);
  return &pre[((unsigned)pid * 31u + (unsigned)(ino ^ (ino >> 29))) % NPRE];
}

static void pre_put(pid_t pid, fuse_ino_t ino, struct fsv_text *t) {
  struct prerender *p = pre_slot(pid, ino);
  pthread_mutex_lock(&p->lock);
  struct fsv_text *old = p->text;
  p->text = fsv_text_ref(t);
  p->pid = pid;
  p->ino = ino;
  p->stamp = fsv_now_ns();
  pthread_mutex_unlock(&p->lock);
  fsv_text_put(old);
}

/* The fresh prerender of (pid, ino), referenced; NULL if none. */
static struct fsv_text *pre_take(pid_t pid, fuse_ino_t ino) {
  struct prerender *p = pre_slot(pid, ino);
  struct fsv_text *t = NULL, *drop = NULL;
  pthread_mutex_lock(&p->lock);
  if (p->pid == pid && p->ino == ino) {
    if (fsv_now_ns() - p->stamp < PRE_TTL_NS) t = p->text;
    else drop = p->text;
    p->text = NULL;
    p->pid = 0;
  }
  pthread_mutex_unlock(&p->lock);
  fsv_text_put(drop);
  return t;
}

/* ------------------------------------------------------------ operations */

static time_t start_time;

static void fill_attr(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = ino;
  if (nodes[NODE(ino)].kind == K_DIR) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
  }
  st->st_atime = st->st_mtime = st->st_ctime = start_time;
  st->st_blksize = 4096;
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  conn->max_write = 4096; /* nothing is writable; keeps request buffers small */
  conn->want &= ~FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_SPLICE_READ) conn->want &= ~FUSE_CAP_SPLICE_READ;
  start_time = time(NULL);
}

/* The file `ino` as the request's reader sees it, referenced, into *t. */
static int render_req(fuse_req_t req, fuse_ino_t ino, struct fsv_text **t, int publish,
                      uint64_t *gid) {
  struct cell_err err = {0};
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  struct fsv_ctx *c = fuse_req_userdata(req);
  if (view_get(c, nodes[NODE(ino)].kind, ctx->pid, fsv_cur_tls, t, publish, gid, &err) < 0) {
    if (c->debug) fprintf(stderr, "cellfs: warning: %s\n", err.msg);
    return -(err.errnum ? err.errnum : EIO);
  }
  return 0;
}

/* What this worker believes the kernel's i_size of each file is: set by
 * the sizes it reports, raised by stores, lowered by short reads (which
 * make the kernel cut i_size on the page-cache path).  Starts at 0, so a
 * new worker stores on its first opens. */
#define NKSIZE 4096
static struct {
  fuse_ino_t ino;
  uint64_t size;
} ksize[NKSIZE]; /* by inode; an inode not found (or pushed out) counts as 0 */
static pthread_mutex_t ksize_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t ksize_slot(fuse_ino_t ino) {
  return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 40) % NKSIZE;
}
static uint64_t ksize_get(fuse_ino_t ino) {
  size_t i = ksize_slot(ino);
  pthread_mutex_lock(&ksize_lock);
  uint64_t v = ksize[i].ino == ino ? ksize[i].size : 0;
  pthread_mutex_unlock(&ksize_lock);
  return v;
}
/* how: 0 set, -1 lower only, 1 raise only */
static void ksize_put(fuse_ino_t ino, uint64_t v, int how) {
  size_t i = ksize_slot(ino);
  pthread_mutex_lock(&ksize_lock);
  uint64_t cur = ksize[i].ino == ino ? ksize[i].size : 0;
  if (how == 0 || (how < 0 && v < cur) || (how > 0 && v > cur)) {
    ksize[i].ino = ino;
    ksize[i].size = v;
  }
  pthread_mutex_unlock(&ksize_lock);
}
static void ksize_set(fuse_ino_t ino, uint64_t v) { ksize_put(ino, v, 0); }
static void ksize_min(fuse_ino_t ino, uint64_t v) { ksize_put(ino, v, -1); }
static void ksize_max(fuse_ino_t ino, uint64_t v) { ksize_put(ino, v, 1); }

/* A file's attributes with its size as the requesting reader sees it. */
static int attr_for(fuse_req_t req, fuse_ino_t ino, struct stat *st) {
  fill_attr(ino, st);
  if (nodes[NODE(ino)].kind == K_DIR) return 0;
  struct fsv_text *t;
  int rc = render_req(req, ino, &t, 0, NULL);
  if (rc < 0) return rc;
  st->st_size = (off_t)t->len;
  st->st_blocks = (blkcnt_t)((t->len + 511) / 512);
  ksize_set(ino, t->len); /* before the reply: the kernel takes it then */
  pid_t pid = fuse_req_ctx(req)->pid;
  if (pid > 0) pre_put(pid, ino, t);
  fsv_text_put(t);
  return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  uint64_t pgid = parent >> NODE_BITS, gid;
  fuse_ino_t pnode = NODE(parent);
  struct fuse_entry_param e;
  memset(&e, 0, sizeof(e));
  e.generation = 1;
  if (pnode == 1 && pgid == 0 && strncmp(name, ".self-", 6) == 0 && name[6]) {
    struct fsv_ctx *c = fuse_req_userdata(req);
    struct fsv_reader r;
    struct cell_err err = {0};
    fsv_blocking(); /* may read /proc */
    if (fsv_resolve(c->tab, fuse_req_ctx(req)->pid, &r, fsv_cur_tls, &err) < 0) {
      if (c->debug) fprintf(stderr, "cellfs: warning: %s\n", err.msg);
      fuse_reply_err(req, EIO);
      return;
    }
    gid = r.cg ? r.cg->gid : 0;
    fsv_cg_put(c->tab, r.cg);
    e.ino = (fuse_ino_t)(gid << NODE_BITS) | 1;
    fill_attr(e.ino, &e.attr);
    e.entry_timeout = e.attr_timeout = 3600; /* the name is the binder's alone */
    fuse_reply_entry(req, &e);
    return;
  }
  if (pnode == 1 && pgid == 0 && group_dir(name, &gid)) {
    e.ino = (fuse_ino_t)(gid << NODE_BITS) | 1;
    fill_attr(e.ino, &e.attr);
    e.entry_timeout = e.attr_timeout = 3600;
    fuse_reply_entry(req, &e);
    return;
  }
  for (fuse_ino_t i = 2; i < NNODES; i++) {
    if (nodes[i].parent == pnode && strcmp(nodes[i].name, name) == 0) {
      fuse_ino_t ino = (fuse_ino_t)(pgid << NODE_BITS) | i;
      /* sizes differ per reader: never cache a file's attributes */
      e.attr_timeout = nodes[i].kind == K_DIR ? 3600 : 0;
      e.entry_timeout = 3600;
      int rc = attr_for(req, ino, &e.attr);
      e.ino = ino;
      if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
      }
      fuse_reply_entry(req, &e);
      return;
    }
  }
  fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  if (!ino_ok(ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st;
  int rc = attr_for(req, ino, &st);
  if (rc < 0) {
    fuse_reply_err(req, -rc);
    return;
  }
  fuse_reply_attr(req, &st, nodes[NODE(ino)].kind == K_DIR ? 3600 : 0);
}

/* sendfile/splice read through the page cache, up to the inode's size
 * (FUSE direct_io does not change that on this kernel).  The size comes
 * from GETATTR, which the kernel sends at open (default_permissions and an
 * attr_timeout of 0) for the opening reader.  Another reader's GETATTR can
 * land between that one and this open, so when this reader's text is longer
 * than the size the kernel was last given, store its last byte: that grows
 * i_size to the text's length.  A page read past the text is short, and
 * the kernel then cuts i_size to the text. */
static int storing;

static void store_size(fuse_ino_t ino, struct fsv_text *b) {
  if (!fsv_session || !b->len || b->len <= ksize_get(ino)) return;
  /* A store waits for the lock of the page it writes, which a reader may
   * hold while its READ waits for a free thread: leave one thread free. */
  if (__atomic_add_fetch(&storing, 1, __ATOMIC_SEQ_CST) < fsv_nthreads) {
    fsv_blocking(); /* hand the reading of requests to another thread first */
    /* one byte, the last: the kernel grows i_size to its end (a store of
     * nothing does not) and locks only the page holding it */
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(1);
    bv.buf[0].mem = b->p + b->len - 1;
    if (fuse_lowlevel_notify_store(fsv_session, ino, (off_t)b->len - 1, &bv, 0) == 0)
      ksize_max(ino, b->len);
  }
  __atomic_sub_fetch(&storing, 1, __ATOMIC_SEQ_CST);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (!ino_ok(ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (nodes[NODE(ino)].kind == K_DIR) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EACCES);
    return;
  }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->noflush = 1;
  pid_t pid = fuse_req_ctx(req)->pid;
  struct fsv_text *t = pid > 0 ? pre_take(pid, ino) : NULL;
  if (t) {
    view_publish(fuse_req_userdata(req), nodes[NODE(ino)].kind, pid, fsv_cur_tls, t);
  } else {
    int rc = render_req(req, ino, &t, 1, NULL);
    if (rc < 0) {
      fuse_reply_err(req, -rc);
      return;
    }
  }
  store_size(ino, t);
  fi->fh = handle_get();
  struct handle *h = handle_of(fi->fh);
  if (h) h->text = t; /* the handle's reference */
  else fsv_text_put(t);
  if (fuse_reply_open(req, fi) != 0) handle_put(fi->fh);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  if (!ino_ok(ino) || nodes[NODE(ino)].kind == K_DIR) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  struct handle *h = handle_of(fi->fh);
  struct fsv_text *t = h ? h->text : NULL;
  /* the first pass serves the text taken at open (its length is what the
   * kernel was told); reading from 0 again takes a fresh one */
  if (!t || (off == 0 && h->served)) {
    int rc = render_req(req, ino, &t, 1, NULL);
    if (rc < 0) {
      fuse_reply_err(req, -rc);
      return;
    }
    if (h) {
      fsv_text_put(h->text);
      h->text = t;
    }
  }
  if (h) h->served = 1;
  size_t n = (size_t)off >= t->len ? 0 : t->len - (size_t)off;
  if (n < size) ksize_min(ino, (uint64_t)off + n); /* short: the kernel may cut i_size */
  fuse_reply_buf(req, n ? t->p + off : NULL, n < size ? n : size);
  if (!h) fsv_text_put(t);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  handle_put(fi->fh);
  fuse_reply_err(req, 0);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi) {
  (void)fi;
  fuse_ino_t node = NODE(ino), grp = ino & ~(fuse_ino_t)((1u << NODE_BITS) - 1);
  if (!ino_ok(ino) || nodes[node].kind != K_DIR) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char buf[4096];
  size_t used = 0;
  off_t idx = 0;
  struct stat st;
  memset(&st, 0, sizeof(st));
  const char *names[NNODES + 2];
  fuse_ino_t inos[NNODES + 2];
  int n = 0;
  names[n] = ".";
  inos[n++] = ino;
  names[n] = "..";
  inos[n++] = node == 1 ? 1 : grp | nodes[node].parent;
  for (fuse_ino_t i = 2; i < NNODES; i++)
    if (nodes[i].parent == node) {
      names[n] = nodes[i].name;
      inos[n++] = grp | i;
    }
  for (idx = off; idx < n; idx++) {
    fill_attr(inos[idx], &st);
    size_t want = fuse_add_direntry(req, NULL, 0, names[idx], NULL, 0);
    if (used + want > size || used + want > sizeof(buf)) break;
    fuse_add_direntry(req, buf + used, sizeof(buf) - used, names[idx], &st, idx + 1);
    used += want;
  }
  fuse_reply_buf(req, buf, used);
}

const struct fuse_lowlevel_ops fsv_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .readdir = op_readdir,
};
