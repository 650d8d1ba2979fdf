/* fs.h - the cellfs tree, the FUSE operations and the supervisor. */
#ifndef CELLFS_FS_H
#define CELLFS_FS_H

#include <stdint.h>
#include <sys/types.h>

#include "fsview/fsv_cgroup.h"
#include "lib/error.h"
#include "fsview/render.h"


enum fsv_kind {
  K_DIR, K_MEMINFO, K_CPUINFO, K_STAT, K_UPTIME, K_LOADAVG, K_DISKSTATS, K_SWAPS,
  K_PSI_CPU, K_PSI_MEM, K_PSI_IO, K_ONLINE, K_POSSIBLE, K_PRESENT
};

struct fsv_opts {
  const char *mountpoint; /* default /var/lib/cellfs */
  int quota_view;         /* 1 unless --no-quota-view */
  int daemon;
  int threads;            /* worker threads serving /dev/fuse */
  unsigned pid_cache_ms;  /* lifetime of a pid -> cgroup resolution */
  unsigned cache_ms;      /* lifetime of a cached render per (cgroup, file); 0 = none */
  int debug;
  const char *mountinfo;  /* NULL: /proc/self/mountinfo (tests use fixtures) */
  const char *proc;       /* NULL: /proc */
};

struct fsv_ctx {
  struct fsv_host host;
  struct fsv_cgtab *tab;
  int quota_view;
  int debug;
  uint64_t cache_ttl_ns;                  /* 0: render on every request */
  pthread_mutex_t host_vlock;             /* guards host_views */
  struct fsv_text *host_views[FSV_NVIEWS]; /* renders for kernel-internal readers */
};

int fsv_ctx_init(struct fsv_ctx *c, const struct fsv_opts *o, struct cell_err *err);
void fsv_ctx_free(struct fsv_ctx *c);

/* Render the file of `kind` as the reader `pid` sees it, into out. */
int fsv_render_for(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
                   struct fsv_buf *out, struct cell_err *err);

/* The file of `kind` as the reader `pid` sees it: a referenced text (put it
 * with fsv_text_put).  Texts are cached per (reader's cgroup, kind) for
 * c->cache_ttl_ns and shared by every reader of that cgroup meanwhile (the
 * uptime text also per the reader's pid namespace init). */
int fsv_view(struct fsv_ctx *c, enum fsv_kind kind, pid_t pid, struct fsv_tls *tls,
             struct fsv_text **out, struct cell_err *err);

/* Path of a file in the tree ("proc/meminfo") to its kind; -1 if none. */
int fsv_kind_of(const char *path);

/* The FUSE low-level operations (fs.c), for the worker. */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops fsv_ops;
/* Per-thread scratch used by the operations; the worker sets it. */
extern __thread struct fsv_tls *fsv_cur_tls;
/* The worker's session, for notifications to the kernel; NULL if none. */
struct fuse_session;
extern struct fuse_session *fsv_session;
extern int fsv_nthreads; /* threads serving the session */
/* Handle table of this worker; gen tells handles of a dead worker apart. */
int fsv_handles_init(uint32_t gen);
void fsv_handles_free(void);

/* Mount, supervise workers, restart them; returns the exit status.
 * SIGHUP: upgrade in place (exec the binary at the path cellfs was started
 * from, handing over /dev/fuse, the journal and the worker; the mount never
 * goes away).  fsv_argv is the command line to exec (main sets it). */
int fsv_supervise(const struct fsv_opts *o, struct cell_err *err);
extern char **fsv_argv;
#define FSV_HANDOVER_ENV "CELLFS_HANDOVER" /* "FUSEFD,JOURNALFD,WORKERPID" */
/* Run cellfs with argv as its command line: detach first when o->daemon
 * (not on an upgrade's exec, already detached: the pid stays), then
 * fsv_supervise.  Returns 0 (also in the parent of the daemon), -1 on error. */
int fsv_run(const struct fsv_opts *o, char **argv, struct cell_err *err);

/* rebind.c: dead cellfs mounts stacked on mp detached (count, -1 errno);
 * dead binds of cellfs files in every mount namespace replaced with binds
 * of the live mount at mp (count replaced, -1 errno). */
int fsv_detach_dead(const char *mp);
int fsv_rebind_all(const char *mp, int debug);

#endif
