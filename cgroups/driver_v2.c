/* driver_v2.c - the cgroup v2 (cgroupfs) driver: every file in the one
 * cgroup2 directory, v2 names and units (cpu.weight, io.max, memory.max),
 * device rules as an eBPF program, cgroup.freeze.  resources.c has already
 * checked the values common to both versions; the v2-only limits (what v2
 * cannot express) are refused or warned about here. */
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define R "linux.resources"

static const char *v2_hier(const char *controller) {
  (void)controller;
  return "";
}

static int v2_memory(const cJSON *m, const struct cell_cg_mem *mem, struct cell_cg_plan *p, struct cell_err *err) {
#define F R ".memory"
  char v[32];
  bool b;
  if (mem->hl == 1) {
    if (mem->limit == -1) snprintf(v, sizeof v, "max");
    else snprintf(v, sizeof v, "%lld", mem->limit);
    if (cell_cg_add(p, err, "", "memory.max", F ".limit", false, "%s", v) < 0) return -1;
  }
  /* v2 memory.swap.max holds swap alone: swap - limit */
  if (mem->hs == 1 || (mem->hl == 1 && mem->limit == -1)) {
    if (mem->hs == 0 || mem->swap == -1) snprintf(v, sizeof v, "max");
    else if (mem->hl == 0 || mem->limit == -1)
      return cell_error(err, 0, "%s.swap: cannot set a swap limit without memory.limit on cgroup v2", F);
    else snprintf(v, sizeof v, "%lld", mem->swap - mem->limit);
    if (cell_cg_add(p, err, "", "memory.swap.max", F ".swap", false, "%s", v) < 0) return -1;
  }
  if (mem->hr == 1) {
    if (mem->res == -1) snprintf(v, sizeof v, "max");
    else snprintf(v, sizeof v, "%lld", mem->res);
    if (cell_cg_add(p, err, "", "memory.low", F ".reservation", false, "%s", v) < 0) return -1;
  }
  if (mem->hw == 1) cell_cg_warn(p, F ".swappiness", "is ignored on cgroup v2");
  if (cell_cg_get_bool(m, "disableOOMKiller", F, &b, err) == 1 && b)
    cell_cg_warn(p, F ".disableOOMKiller", "is ignored on cgroup v2");
  if (cell_cg_get_bool(m, "useHierarchy", F, &b, err) == 1) cell_cg_warn(p, F ".useHierarchy", "is ignored on cgroup v2");
  return 0;
#undef F
}

static int v2_cpu(const struct cell_cg_cpu *c, struct cell_cg_plan *p, struct cell_err *err) {
#define F R ".cpu"
  if (c->hs == 1) {
    if (c->shares < 2 || c->shares > 262144)
      return cell_error(err, 0, "%s.shares: %lld is out of range 2-262144", F, c->shares);
    if (cell_cg_add(p, err, "", "cpu.weight", F ".shares", false, "%llu",
                    cell_cg_shares_to_weight((unsigned long long)c->shares)) < 0)
      return -1;
  }
  if (c->hq == 1 || c->hp == 1) {
    char v[64];
    int n = (c->hq == 1 && c->quota > 0) ? snprintf(v, sizeof v, "%lld", c->quota) : snprintf(v, sizeof v, "max");
    if (c->hp == 1) snprintf(v + n, sizeof v - (size_t)n, " %lld", c->period);
    if (cell_cg_add(p, err, "", "cpu.max", c->hq == 1 ? F ".quota" : F ".period", false, "%s", v) < 0) return -1;
  }
  if (c->hb == 1 && cell_cg_add(p, err, "", "cpu.max.burst", F ".burst", false, "%lld", c->burst) < 0) return -1;
  if ((c->hrr == 1 && c->rtr != 0) || (c->hrp == 1 && c->rtp != 0))
    return cell_error(err, 0, "%s.%s: realtime scheduling limits are not supported on cgroup v2", F,
                      c->hrr == 1 ? "realtimeRuntime" : "realtimePeriod");
  if (c->hi == 1 && cell_cg_add(p, err, "", "cpu.idle", F ".idle", false, "%lld", c->idle) < 0) return -1;
  return 0;
#undef F
}

/* blkio.weight 10-1000 -> io.weight 1-10000 */
static unsigned long long blkio_to_io_weight(unsigned long long w) { return 1 + ((w - 10) * 9999) / 990; }

static int v2_blkio_weight(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                           struct cell_err *err) {
  if (maj < 0)
    return cell_cg_add(p, err, "", "io.weight", field, true, "default %llu", blkio_to_io_weight((unsigned long long)w));
  return cell_cg_add(p, err, "", "io.weight", field, true, "%lld:%lld %llu", maj, min,
                     blkio_to_io_weight((unsigned long long)w));
}

static int v2_blkio_leaf_weight(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                                struct cell_err *err) {
  (void)min, (void)w, (void)err;
  cell_cg_warn(p, field, maj < 0 ? "is ignored on cgroup v2" : "leafWeight is ignored on cgroup v2");
  return 0;
}

static int v2_blkio_throttle(struct cell_cg_plan *p, const char *field, enum cell_cg_throttle t, long long maj,
                             long long min, long long rate, struct cell_err *err) {
  static const char *const keys[] = {[CELL_CG_THR_READ_BPS] = "rbps", [CELL_CG_THR_WRITE_BPS] = "wbps",
                                     [CELL_CG_THR_READ_IOPS] = "riops", [CELL_CG_THR_WRITE_IOPS] = "wiops"};
  if (rate == 0) return cell_cg_add(p, err, "", "io.max", field, true, "%lld:%lld %s=max", maj, min, keys[t]);
  return cell_cg_add(p, err, "", "io.max", field, true, "%lld:%lld %s=%lld", maj, min, keys[t], rate);
}

static int v2_hugetlb(struct cell_cg_plan *p, const char *field, const char *pagesize, long long limit,
                      struct cell_err *err) {
  char file[96];
  snprintf(file, sizeof file, "hugetlb.%s.max", pagesize);
  return cell_cg_add(p, err, "", file, field, false, "%lld", limit);
}

static int v2_network(const cJSON *pr, int has_cls, long long cls, struct cell_cg_plan *p, struct cell_err *err) {
  (void)cls, (void)p;
  if (has_cls == 1 || cJSON_GetArraySize(pr) > 0)
    return cell_error(err, 0, "%s: net_cls/net_prio are cgroup v1 controllers, not available on cgroup v2",
                      R ".network");
  return 0;
}

/* v2 devices: the rules are compiled into an eBPF program when applied */
static int v2_devices(struct cell_cg_plan *p, struct cell_err *err) {
  (void)err;
  p->has_devices = true;
  return 0;
}

static int v2_stats(const struct cell_cgroup *cg, cJSON *data, struct cell_err *err) {
  return cell_cg_stats_v2(cell_cg_path(cg, ""), data, err);
}

static void msleep(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static int v2_events_frozen(const char *dir, int *frozen, struct cell_err *err) {
  char p[4200], *s = NULL;
  snprintf(p, sizeof p, "%s/cgroup.events", dir);
  if (cell_cg_read(p, &s, err) < 0) return -1;
  char *f = strstr(s, "frozen ");
  *frozen = f ? atoi(f + 7) : -1;
  free(s);
  if (*frozen < 0) return cell_error(err, 0, "%s has no \"frozen\" key", p);
  return 0;
}

/* cgroup.freeze, then wait for "frozen 1|0" in cgroup.events */
static int v2_freeze(struct cell_cgroup *cg, bool frozen, struct cell_err *err) {
  char p[4200];
  const char *dir = cell_cg_path(cg, "");
  snprintf(p, sizeof p, "%s/cgroup.freeze", dir);
  if (cell_cg_write(p, frozen ? "1" : "0", err) < 0) return -1;
  for (int i = 0; i < 2000; i++) { /* ~10 s */
    int f;
    if (v2_events_frozen(dir, &f, err) < 0) return -1;
    if (f == (frozen ? 1 : 0)) return 0;
    msleep(i < 20 ? 1 : 5);
  }
  if (frozen) cell_cg_write(p, "0", err);
  return cell_error(err, ETIMEDOUT, "waiting for %s/cgroup.events to show frozen %d", dir, frozen ? 1 : 0);
}

static int v2_is_frozen(const struct cell_cgroup *cg, bool *frozen, struct cell_err *err) {
  char p[4200], *s = NULL;
  snprintf(p, sizeof p, "%s/cgroup.freeze", cell_cg_path(cg, ""));
  if (cell_cg_read(p, &s, err) < 0) return -1;
  *frozen = s[0] == '1';
  free(s);
  return 0;
}

const struct cell_cg_driver cell_cg_driver_v2 = {
    .name = "cgroupfs v2",
    .hier = v2_hier,
    .memory = v2_memory,
    .cpu = v2_cpu,
    .blkio_weight = v2_blkio_weight,
    .blkio_leaf_weight = v2_blkio_leaf_weight,
    .blkio_throttle = v2_blkio_throttle,
    .hugetlb = v2_hugetlb,
    .network = v2_network,
    .devices = v2_devices,
    .mem_usage_file = "memory.current",
    .oom_events_file = "memory.events",
    .stats = v2_stats,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
};
