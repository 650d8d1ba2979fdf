/* cgroup.h - where cellfs finds the reader's cgroup and reads its values.
 *
 * fsv_host describes the host's cgroup mounts (v1, v2 or hybrid) and keeps
 * fds of the host /proc files open.  fsv_cg is one cached cgroup set (the
 * content of a /proc/PID/cgroup file) with lazily opened, cached fds of the
 * cgroup files it needs; values are read with pread at offset 0.
 * fsv_resolve maps a reader pid to its container's fsv_cg (cached per pid).
 */
#ifndef CELLFS_CGROUP_H
#define CELLFS_CGROUP_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "fsview/render.h"

enum fsv_role { R_MEM, R_CPU, R_CPUACCT, R_CPUSET, R_BLKIO, R_PIDS, R_UNIFIED, R_NROLES };

enum fsv_file {
  F_MEM_STAT, F_MEM_USAGE, F_MEM_MAX, F_SWAP_USAGE, F_SWAP_MAX,
  F_CPUSET, F_CPU_QUOTA, F_CPU_PERIOD, F_CPU_USAGE, F_CPUACCT_STAT,
  F_IO_A, F_IO_B, F_TASKS, F_PSI_CPU, F_PSI_MEM, F_PSI_IO, F_NFILES
};

enum fsv_hostfile {
  H_MEMINFO, H_CPUINFO, H_STAT, H_UPTIME, H_LOADAVG, H_DISKSTATS, H_SWAPS,
  H_PSI_CPU, H_PSI_MEM, H_PSI_IO, H_ONLINE, H_POSSIBLE, H_PRESENT, H_NFILES
};

#define FSV_MAXDEPTH 24
#define FSV_NVIEWS 16 /* render cache slots per cgroup, one per file kind */

struct fsv_host {
  char *mnt[R_NROLES];   /* mount point serving the role, NULL if none */
  char *mroot[R_NROLES]; /* root of that mount inside its hierarchy */
  int v2[R_NROLES];      /* the role's hierarchy is cgroup2 */
  int hostfd[H_NFILES];
  long hz;
  const char *proc;      /* "/proc", overridable for tests */
  uint64_t host_pidns;   /* inode of our pid namespace */
};

struct fsv_cg {
  struct fsv_cg *next;
  uint64_t hash;
  char *key;                 /* text of /proc/PID/cgroup */
  int refs;                  /* guarded by the table lock */
  int active;                /* references of requests in flight (table lock): fds in use */
  int stale;                 /* the cgroup was removed or replaced: never found again */
  int nfds;                  /* open fds in fd[][] (atomic) */
  uint64_t ino[R_NROLES];    /* identity: inode of the cgroup directory of each role */
  uint64_t gid;              /* 48-bit hash of the identity, != 0: the group of its inodes */
  uint64_t last_used;        /* monotonic ns */
  uint64_t born;             /* monotonic ns when cellfs first saw this cgroup set */
  char *path[R_NROLES];      /* path below the mount, "" = mount root, NULL = none */
  int depth[R_NROLES];       /* components of path */
  int fd[F_NFILES][FSV_MAXDEPTH]; /* -2 not tried, -1 missing */
  pthread_mutex_t lock;      /* guards tasks */
  struct fsv_tasks tasks;
  int sampled;
  /* the render cache of this cgroup (fs.c): the last text of each file
   * kind, shared by every reader of the cgroup while it is fresh */
  pthread_mutex_t vlock;
  struct fsv_text *views[FSV_NVIEWS];
};

/* Per-thread scratch space: no allocation on the hot path once warm. */
struct fsv_tls {
  struct fsv_buf a, b, c; /* a: reader+host text, b: cgroup files, c: task lists */
  struct fsv_buf out;     /* output when a read has no handle */
};

/* mountinfo / proc: NULL for /proc/self/mountinfo and /proc (tests pass fixtures) */
int fsv_host_init(struct fsv_host *h, const char *mountinfo, const char *proc,
                  struct cell_err *err);
void fsv_host_free(struct fsv_host *h);

/* Read a host /proc file into b (pread on a cached fd). */
int fsv_read_host(const struct fsv_host *h, enum fsv_hostfile f, struct fsv_buf *b);

/* The cgroup table, the pid cache and the loadavg sampler. */
struct fsv_cgtab;
/* Cgroup file fds stay below the RLIMIT_NOFILE soft limit: the least
 * recently used idle cgroups lose their fds first (reopened on demand). */
struct fsv_cgtab *fsv_cgtab_new(struct fsv_host *h, uint64_t pid_ttl_ns);
int fsv_cgtab_fds(struct fsv_cgtab *t);    /* cgroup file fds open now */
int fsv_cgtab_maxfds(struct fsv_cgtab *t); /* their bound */
void fsv_cgtab_free(struct fsv_cgtab *t);

/* The reader's container: its cgroup (referenced; NULL = the host itself).
 * A cgroup is known by its identity (the inodes of its directories), not
 * its path: a cgroup removed and made again under the same path is a new
 * entry.  Collectors fail with ENODEV once the cgroup is gone (the entry
 * is then stale) and with ENOENT only for a file a live cgroup lacks.
 * and the start of its init in seconds since boot (0 for host readers). */
struct fsv_reader {
  struct fsv_cg *cg;
  double init_start;
};
int fsv_resolve(struct fsv_cgtab *t, pid_t pid, struct fsv_reader *r, struct fsv_tls *tls,
                struct cell_err *err);
void fsv_cg_put(struct fsv_cgtab *t, struct fsv_cg *cg);

/* role is the root cgroup (or absent): the view passes the host file through */
int fsv_cg_is_root(const struct fsv_cg *cg, enum fsv_role role);

/* Collectors fill value structs from the cgroup's files. */
int fsv_collect_mem(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_mem *m,
                    struct fsv_tls *tls);
int fsv_collect_cpu(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_cpu *c, int usage,
                    struct fsv_tls *tls);
int fsv_collect_io(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_io *io,
                   struct fsv_tls *tls);
void fsv_collect_tasks(struct fsv_cgtab *t, struct fsv_cg *cg, struct fsv_tasks *tk);
/* Read a cgroup file (depth 0) into b; -1 with errno when missing. */
int fsv_cg_read(struct fsv_cgtab *t, struct fsv_cg *cg, enum fsv_file f, struct fsv_buf *b);

/* One loadavg step for every cached cgroup; run every 5 s. */
void fsv_sample_all(struct fsv_cgtab *t, struct fsv_tls *tls);
/* Drop expired pid entries and idle cgroups. */
void fsv_sweep(struct fsv_cgtab *t);
int fsv_cgtab_count(struct fsv_cgtab *t);

uint64_t fsv_now_ns(void);

/* Set by the worker: called before work that may take long or block (a
 * render from cgroup files, a pid resolution, a page-cache store), so that
 * another thread takes over reading requests meanwhile.  NULL: nothing. */
extern void (*fsv_may_block)(void);
static inline void fsv_blocking(void) {
  if (fsv_may_block) fsv_may_block();
}

#endif
