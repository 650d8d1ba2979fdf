/* cgroup_internal.h - the cgroup module's internals, shared by its .c files
 * and its unit tests.  The pure functions here never touch cgroupfs. */
#ifndef CELL_CGROUP_INTERNAL_H
#define CELL_CGROUP_INTERNAL_H

#include "cgroups/cgroup.h"

struct cell_cg_hier {
  char *controllers; /* "memory", "cpu,cpuacct", "name=systemd"; "" = cgroup2 */
  char *mount;       /* mount point of the hierarchy */
  char *path;        /* our cgroup's directory */
  char **created;    /* directories we made, top-down */
  size_t ncreated;
};

struct cell_cgroup {
  enum cell_cg_layout layout;
  struct cell_cg_hier *h;
  size_t nh;
};

/* Build the cgroup description (no filesystem access) from the text of
 * /proc/self/cgroup and /proc/self/mountinfo. */
int cell_cg_resolve(enum cell_cg_layout layout, const char *proc_cgroup, const char *mountinfo,
                    const char *cgroups_path, const char *id, bool systemd_running,
                    struct cell_cgroup **out, struct cell_err *err);

/* cell_cg_create with a given layout (tests treat a hybrid host's
 * /sys/fs/cgroup/unified as a pure v2 system with it). */
int cell_cg_create_as(enum cell_cg_layout layout, const char *cgroups_path, const char *id,
                      struct cell_cgroup **out, struct cell_err *err);

int cell_cg_plan_as(enum cell_cg_layout layout, const char *cgroups_path, const char *id,
                    struct cell_cgroup **out, struct cell_err *err);

/* Expand a systemd "slice:prefix:name" path to a cgroupfs path. */
int cell_cg_systemd_path(const char *spec, char *out, size_t outlen, struct cell_err *err);

/* Hierarchy holding a controller ("" = cgroup2), or NULL. */
struct cell_cg_hier *cell_cg_hier_for(const struct cell_cgroup *cg, const char *controller);
bool cell_cg_hier_has(const struct cell_cg_hier *h, const char *controller);

/* Creation records, shared with teardown.c: is dir in h->created; does it
 * carry cell's "made by cell" xattr; rmdir retrying EBUSY (~1 s). */
bool cell_cg_in_created(const struct cell_cg_hier *h, const char *dir);
bool cell_cg_is_marked(const char *dir);
int cell_cg_rmdir_retry(const char *dir);

/* Small file helpers (path-naming errors). */
int cell_cg_read(const char *path, char **out, struct cell_err *err);
int cell_cg_write(const char *path, const char *val, struct cell_err *err);

/* ---- resources: the pure "which file gets which value" step ---- */
struct cell_cg_kv {
  char *controller; /* hierarchy the file lives in; "" = cgroup2 */
  char *file;       /* file name relative to the cgroup dir */
  char *value;
  char *field;      /* config field it came from, for error messages */
  bool keyed;       /* value starts with a key ("8:0", "mlx5_1", "eth0",
                       "default"): the file holds one line per key */
};
struct cell_cg_plan {
  struct cell_cg_kv *kv;
  size_t n, cap;
  /* v2 devices: the rules, to be compiled into an eBPF program */
  bool has_devices;
  struct cell_dev_rule *dev;
  size_t ndev;
  char warnings[512]; /* ignored fields, printed once by the caller */
  bool check_before_update; /* memory.checkBeforeUpdate with a limit set */
  long long mem_limit;
};
void cell_cg_plan_free(struct cell_cg_plan *p);

/* ---- cgroup drivers ----
 * resources.c parses and validates linux.resources (the rules common to every
 * cgroup version) and asks the driver which file gets which value; the
 * driver also knows the version's stats files and freezer.  One driver per
 * cgroupfs version (driver_v1.c, driver_v2.c), chosen once from the layout
 * by cell_cg_driver_for().  Model: crun's cgroup-v1.c / cgroup-v2.c split. */
struct cell_cg_driver;

/* linux.resources.memory after the common checks; h* = 1 when given
 * (0 = unset, which "limit": 0 and "swap": 0 also mean). */
struct cell_cg_mem {
  int hl, hr, hs, hw;
  long long limit, res, swap, swappiness;
};
/* linux.resources.cpu after the common checks (cpus/mems are rendered by
 * resources.c into the hierarchy named by hier("cpuset")). */
struct cell_cg_cpu {
  int hs, hq, hp, hb, hrr, hrp, hi;
  long long shares, quota, period, burst, rtr, rtp, idle;
};
/* blockIO throttle lists, in this order (index passed to blkio_throttle) */
enum cell_cg_throttle { CELL_CG_THR_READ_BPS, CELL_CG_THR_WRITE_BPS, CELL_CG_THR_READ_IOPS, CELL_CG_THR_WRITE_IOPS };

struct cell_cg_driver {
  const char *name; /* "cgroupfs v1", "cgroupfs v2" */
  /* Hierarchy (cell_cg_kv.controller) holding a v1-named controller's
   * files: the controller itself on v1, "" (the cgroup2 dir) on v2. */
  const char *(*hier)(const char *controller);
  /* rendering; `field` names the config field of the value */
  int (*memory)(const cJSON *m, const struct cell_cg_mem *mem, struct cell_cg_plan *p, struct cell_err *err);
  int (*cpu)(const struct cell_cg_cpu *c, struct cell_cg_plan *p, struct cell_err *err);
  /* maj < 0: the cgroup-wide weight (blockIO.weight / leafWeight) */
  int (*blkio_weight)(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                      struct cell_err *err);
  int (*blkio_leaf_weight)(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                           struct cell_err *err);
  int (*blkio_throttle)(struct cell_cg_plan *p, const char *field, enum cell_cg_throttle t, long long maj,
                        long long min, long long rate, struct cell_err *err);
  int (*hugetlb)(struct cell_cg_plan *p, const char *field, const char *pagesize, long long limit,
                 struct cell_err *err);
  /* has_cls: classID given; priorities may be NULL */
  int (*network)(const cJSON *priorities, int has_cls, long long cls, struct cell_cg_plan *p, struct cell_err *err);
  /* p->dev/p->ndev hold the parsed rules: turn them into files or a program */
  int (*devices)(struct cell_cg_plan *p, struct cell_err *err);
  /* memory.checkBeforeUpdate reads this file (in hier("memory")) */
  const char *mem_usage_file;
  /* the file (in hier("memory")) with the "oom_kill N" line */
  const char *oom_events_file;
  int (*stats)(const struct cell_cgroup *cg, cJSON *data, struct cell_err *err);
  int (*freeze)(struct cell_cgroup *cg, bool frozen, struct cell_err *err);
  int (*is_frozen)(const struct cell_cgroup *cg, bool *frozen, struct cell_err *err);
};
extern const struct cell_cg_driver cell_cg_driver_v1, cell_cg_driver_v2;
/* The slot for a systemd driver (transient units over D-Bus, as runc's and
 * crun's systemd managers): not written yet, so NULL.  Today
 * "slice:prefix:name" cgroupsPaths are expanded to cgroupfs paths
 * (cell_cg_systemd_path) and handled by the cgroupfs drivers. */
extern const struct cell_cg_driver *const cell_cg_driver_systemd;

/* The cgroupfs driver for a layout: v2 for unified, v1 for hybrid/legacy. */
const struct cell_cg_driver *cell_cg_driver_for(enum cell_cg_layout layout);
/* Choose the driver: systemd = true asks for the systemd driver, which is
 * refused with a clear error while cell_cg_driver_systemd is NULL. */
int cell_cg_driver_select(enum cell_cg_layout layout, bool systemd, const struct cell_cg_driver **out,
                          struct cell_err *err);
/* The cgroup's driver (from its layout). */
const struct cell_cg_driver *cell_cg_drv(const struct cell_cgroup *cg);

/* Render for a driver's files.  `enabled` (may be NULL = everything
 * allowed) lists the v2 controllers usable for the "unified" key check. */
int cell_cg_render(const cJSON *resources, const struct cell_cg_driver *drv, const char *enabled,
                   struct cell_cg_plan *plan, struct cell_err *err);
/* The standard cpu.shares -> cpu.weight conversion; 0 stays 0 (unset). */
unsigned long long cell_cg_shares_to_weight(unsigned long long shares);

/* Rendering helpers shared by resources.c and the drivers.  cell_cg_add
 * appends (controller, file, value) to the plan; cell_cg_warn records an
 * ignored field in p->warnings (handed to the caller, see
 * cell_cg_apply_resources).  The getters return 1 if the member is present,
 * 0 if absent/null, -1 on a type error named by field. */
__attribute__((format(printf, 7, 8))) int cell_cg_add(struct cell_cg_plan *p, struct cell_err *err, const char *ctrl,
                                                      const char *file, const char *field, bool keyed,
                                                      const char *fmt, ...);
void cell_cg_warn(struct cell_cg_plan *p, const char *field, const char *why);
int cell_cg_get_int(const cJSON *obj, const char *key, const char *field, long long min, long long *out,
                    struct cell_err *err);
int cell_cg_get_bool(const cJSON *obj, const char *key, const char *field, bool *out, struct cell_err *err);
int cell_cg_get_str(const cJSON *obj, const char *key, const char *field, const char **out, struct cell_err *err);

/* ---- device rules and their eBPF program ---- */
struct cell_dev_rule {
  bool allow;
  char type;   /* 'a', 'b', 'c' */
  long long major, minor; /* -1 = wildcard */
  unsigned access; /* bit 1 = r (BPF_DEVCG_ACC_READ), 2 = w (MKNOD=1, READ=2, WRITE=4) */
};
/* Parse linux.resources.devices into rules. */
int cell_dev_rules_parse(const cJSON *devices, struct cell_dev_rule **out, size_t *n,
                         struct cell_err *err);
/* v1 line "c 1:3 rwm" for a rule. */
void cell_dev_rule_v1(const struct cell_dev_rule *r, char *buf, size_t len);
/* Generate the BPF_PROG_TYPE_CGROUP_DEVICE program.  *insns is a malloc'd
 * array of struct bpf_insn, *ninsns its length. */
int cell_dev_bpf_generate(const struct cell_dev_rule *rules, size_t n, void **insns,
                          size_t *ninsns, struct cell_err *err);
/* Load the program; returns the fd or -1. */
int cell_dev_bpf_load(const void *insns, size_t ninsns, struct cell_err *err);
/* Generate, load and attach to the cgroup dir fd (replacing ours). */
int cell_dev_bpf_apply(int cgroup_fd, const struct cell_dev_rule *rules, size_t n,
                       struct cell_err *err);

/* ---- stats from a directory of cgroup files (fixtures or live) ---- */
/* dirs: for v1, the path per controller is looked up via cb; for tests the
 * fixture tree holds one directory per controller (v1) or one dir (v2). */
int cell_cg_stats_v2(const char *dir, cJSON *data, struct cell_err *err);
int cell_cg_stats_v1(const char *memory, const char *cpu, const char *cpuacct, const char *pids,
                     const char *blkio, const char *hugetlb, cJSON *data, struct cell_err *err);

#endif
