/* render.h - cellfs views: value structs, parsers of cgroup files and pure
 * renderers.
 *
 * Everything here is a pure function: parsers turn the text of one cgroup
 * file into fields of a value struct, renderers turn (host /proc text,
 * value structs) into the text a reader of the virtual file sees.  Nothing
 * here opens files, so the unit tests feed fixture text directly.
 */
#ifndef CELLFS_RENDER_H
#define CELLFS_RENDER_H

#include <stddef.h>
#include <stdint.h>

#define FSV_UNLIMITED UINT64_MAX
#define FSV_MAXCPU 1024
#define FSV_MAXDEV 64

/* A growable output buffer.  Renderers append; the buffer is kept by its
 * owner between requests so steady state does not allocate. */
struct fsv_buf {
  char *p;
  size_t len, cap;
  int oom; /* set when growing failed; the text is then truncated */
};
void fsv_buf_reset(struct fsv_buf *b);
void fsv_buf_free(struct fsv_buf *b);
int fsv_buf_reserve(struct fsv_buf *b, size_t extra);
void fsv_buf_add(struct fsv_buf *b, const char *s, size_t n);
void fsv_buf_printf(struct fsv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A finished render: immutable once made, shared by reference (the render
 * cache, open handles, prerenders).  refs is changed atomically. */
struct fsv_text {
  int refs;
  uint64_t stamp;    /* monotonic ns when its values were read */
  double init_start; /* the reader's init start it was rendered for (uptime) */
  size_t len;
  char p[];          /* len bytes and a NUL */
};
/* A new text holding a copy of p[0..len), one reference; NULL if no memory. */
struct fsv_text *fsv_text_new(const char *p, size_t len);
struct fsv_text *fsv_text_ref(struct fsv_text *t); /* returns t; NULL stays NULL */
void fsv_text_put(struct fsv_text *t);             /* NULL is fine */

/* Memory values of a cgroup, bytes.  FSV_UNLIMITED = no limit. */
struct fsv_mem {
  uint64_t limit;       /* tightest memory limit along the ancestors */
  uint64_t usage;       /* memory.current / memory.usage_in_bytes */
  uint64_t swap_limit;  /* swap-only limit (v2 memory.swap.max; v1 memsw - mem) */
  uint64_t swap_usage;  /* swap in use by the cgroup */
  uint64_t anon, file, shmem, mapped, dirty, writeback, unevictable;
  uint64_t active_anon, inactive_anon, active_file, inactive_file;
  uint64_t slab_reclaimable, slab_unreclaimable, kernel_stack, pagetables;
  uint64_t swapcached;
  /* v1 memsw limits from memory.stat, used to derive swap_limit */
  uint64_t memsw_limit;
};
void fsv_mem_init(struct fsv_mem *m);

/* CPU values of a cgroup. */
struct fsv_cpu {
  uint64_t cpuset[FSV_MAXCPU / 64]; /* effective cpuset bitmap */
  int64_t quota_us;                 /* tightest quota, -1 = none */
  uint64_t period_us;
  int have_percpu;                  /* per-CPU usage known (v1 usage_all) */
  uint64_t user_ns[FSV_MAXCPU], system_ns[FSV_MAXCPU];
  uint64_t total_user_ns, total_system_ns;
};
void fsv_cpu_init(struct fsv_cpu *c);

struct fsv_dev {
  unsigned major, minor;
  uint64_t rbytes, wbytes, rios, wios, dbytes, dios;
};
struct fsv_io {
  int n;
  struct fsv_dev dev[FSV_MAXDEV];
};

struct fsv_tasks {
  uint64_t nr_tasks;    /* threads in the cgroup */
  uint64_t nr_running;  /* in state R at the last sample */
  uint64_t nr_blocked;  /* in state D at the last sample */
  uint64_t last_pid;    /* highest pid in the cgroup */
  uint64_t load[3];     /* fixed point, FSV_FIXED_1 = 1.0 */
};
#define FSV_FSHIFT 11
#define FSV_FIXED_1 (1UL << FSV_FSHIFT)
/* one 5 s step of the kernel's exponential decay; idx 0,1,2 = 1,5,15 min */
uint64_t fsv_calc_load(uint64_t load, int idx, uint64_t active);

/* ---- parsers: return 0, or -1 when the text is not what the file holds */
int fsv_parse_u64_max(const char *text, uint64_t *out); /* "123\n" / "max\n" */
int fsv_parse_cpulist(const char *text, uint64_t *bitmap); /* "0-3,7" */
int fsv_cpulist_count(const uint64_t *bitmap);
int fsv_parse_memstat_v1(const char *text, struct fsv_mem *m);
int fsv_parse_memstat_v2(const char *text, struct fsv_mem *m);
int fsv_parse_cpu_max(const char *text, int64_t *quota, uint64_t *period);
int fsv_parse_usage_all(const char *text, struct fsv_cpu *c);
int fsv_parse_cpu_stat_v2(const char *text, struct fsv_cpu *c);
int fsv_parse_cpuacct_stat(const char *text, struct fsv_cpu *c, long hz);
int fsv_parse_io_stat(const char *text, struct fsv_io *io);
/* v1 blkio.throttle.io_service_bytes(_recursive) / io_serviced(_recursive) */
int fsv_parse_blkio(const char *text, struct fsv_io *io, int ios);
/* "Key: value" field of a text (meminfo, status); -1 if absent */
int fsv_field_u64(const char *text, const char *key, uint64_t *out);

/* Tighten (quota, period) with an ancestor's; quota < 0 = none. */
void fsv_cpu_tighten(int64_t *quota, uint64_t *period, int64_t q2, uint64_t p2);

/* The CPUs a reader sees: host ids, ascending.  With quota_view only the
 * first ceil(quota/period) of the cpuset.  Returns the count (>= 1). */
int fsv_visible_cpus(const struct fsv_cpu *c, int quota_view, int *ids, int max);

/* ---- renderers: append to out; host = text of the host's /proc file */
void fsv_render_meminfo(const char *host, const struct fsv_mem *m,
                        struct fsv_buf *out);
void fsv_render_cpuinfo(const char *host, const int *ids, int n,
                        struct fsv_buf *out);
void fsv_render_cpulist(const int *ids, int n, struct fsv_buf *out);
/* uptime_s: seconds the container runs, idle over its visible CPUs */
void fsv_render_stat(const char *host, const struct fsv_cpu *c,
                     const int *ids, int n, const struct fsv_tasks *t,
                     struct fsv_buf *out);
void fsv_render_uptime(double host_uptime, double init_start,
                       const struct fsv_cpu *c, int ncpus,
                       struct fsv_buf *out);
void fsv_render_loadavg(const struct fsv_tasks *t, struct fsv_buf *out);
void fsv_render_diskstats(const char *host, const struct fsv_io *io,
                          struct fsv_buf *out);
void fsv_render_swaps(const char *host_meminfo, const struct fsv_mem *m,
                      struct fsv_buf *out);

#endif
