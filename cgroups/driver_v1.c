/* driver_v1.c - the cgroup v1 (cgroupfs) driver: one hierarchy per
 * controller, v1 file names, freezer.state.  resources.c has already
 * checked the values; this only maps them to files. */
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define R "linux.resources"

static const char *v1_hier(const char *controller) { return controller; }

static int v1_memory(const cJSON *m, const struct cell_cg_mem *mem, struct cell_cg_plan *p, struct cell_err *err) {
#define F R ".memory"
  bool b;
  if (mem->hl == 1 && cell_cg_add(p, err, "memory", "memory.limit_in_bytes", F ".limit", false, "%lld", mem->limit) < 0)
    return -1;
  if (mem->hs == 1 &&
      cell_cg_add(p, err, "memory", "memory.memsw.limit_in_bytes", F ".swap", false, "%lld", mem->swap) < 0)
    return -1;
  if (mem->hr == 1 &&
      cell_cg_add(p, err, "memory", "memory.soft_limit_in_bytes", F ".reservation", false, "%lld", mem->res) < 0)
    return -1;
  if (mem->hw == 1 &&
      cell_cg_add(p, err, "memory", "memory.swappiness", F ".swappiness", false, "%lld", mem->swappiness) < 0)
    return -1;
  int r = cell_cg_get_bool(m, "disableOOMKiller", F, &b, err);
  if (r < 0) return -1;
  if (r == 1 && cell_cg_add(p, err, "memory", "memory.oom_control", F ".disableOOMKiller", false, "%d", b ? 1 : 0) < 0)
    return -1;
  r = cell_cg_get_bool(m, "useHierarchy", F, &b, err);
  if (r < 0) return -1;
  if (r == 1 && cell_cg_add(p, err, "memory", "memory.use_hierarchy", F ".useHierarchy", false, "%d", b ? 1 : 0) < 0)
    return -1;
  return 0;
#undef F
}

static int v1_cpu(const struct cell_cg_cpu *c, struct cell_cg_plan *p, struct cell_err *err) {
#define F R ".cpu"
  if (c->hs == 1 && cell_cg_add(p, err, "cpu", "cpu.shares", F ".shares", false, "%lld", c->shares) < 0) return -1;
  if (c->hp == 1 && cell_cg_add(p, err, "cpu", "cpu.cfs_period_us", F ".period", false, "%lld", c->period) < 0)
    return -1;
  if (c->hq == 1 && cell_cg_add(p, err, "cpu", "cpu.cfs_quota_us", F ".quota", false, "%lld", c->quota) < 0) return -1;
  if (c->hb == 1 && cell_cg_add(p, err, "cpu", "cpu.cfs_burst_us", F ".burst", false, "%lld", c->burst) < 0) return -1;
  if (c->hrp == 1 && c->rtp &&
      cell_cg_add(p, err, "cpu", "cpu.rt_period_us", F ".realtimePeriod", false, "%lld", c->rtp) < 0)
    return -1;
  if (c->hrr == 1 && cell_cg_add(p, err, "cpu", "cpu.rt_runtime_us", F ".realtimeRuntime", false, "%lld", c->rtr) < 0)
    return -1;
  if (c->hi == 1 && cell_cg_add(p, err, "cpu", "cpu.idle", F ".idle", false, "%lld", c->idle) < 0) return -1;
  return 0;
#undef F
}

static int v1_blkio_weight(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                           struct cell_err *err) {
  if (maj < 0) return cell_cg_add(p, err, "blkio", "blkio.weight", field, false, "%lld", w);
  return cell_cg_add(p, err, "blkio", "blkio.weight_device", field, true, "%lld:%lld %lld", maj, min, w);
}

static int v1_blkio_leaf_weight(struct cell_cg_plan *p, const char *field, long long maj, long long min, long long w,
                                struct cell_err *err) {
  if (maj < 0) return cell_cg_add(p, err, "blkio", "blkio.leaf_weight", field, false, "%lld", w);
  return cell_cg_add(p, err, "blkio", "blkio.leaf_weight_device", field, true, "%lld:%lld %lld", maj, min, w);
}

static int v1_blkio_throttle(struct cell_cg_plan *p, const char *field, enum cell_cg_throttle t, long long maj,
                             long long min, long long rate, struct cell_err *err) {
  static const char *const files[] = {
      [CELL_CG_THR_READ_BPS] = "blkio.throttle.read_bps_device",
      [CELL_CG_THR_WRITE_BPS] = "blkio.throttle.write_bps_device",
      [CELL_CG_THR_READ_IOPS] = "blkio.throttle.read_iops_device",
      [CELL_CG_THR_WRITE_IOPS] = "blkio.throttle.write_iops_device"};
  return cell_cg_add(p, err, "blkio", files[t], field, true, "%lld:%lld %lld", maj, min, rate);
}

static int v1_hugetlb(struct cell_cg_plan *p, const char *field, const char *pagesize, long long limit,
                      struct cell_err *err) {
  char file[96];
  snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes", pagesize);
  return cell_cg_add(p, err, "hugetlb", file, field, false, "%lld", limit);
}

static int v1_network(const cJSON *pr, int has_cls, long long cls, struct cell_cg_plan *p, struct cell_err *err) {
#define F R ".network"
  if (has_cls == 1 && cell_cg_add(p, err, "net_cls", "net_cls.classid", F ".classID", false, "%lld", cls) < 0)
    return -1;
  size_t i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, pr) {
    char f[96];
    const char *name = NULL;
    long long prio;
    snprintf(f, sizeof f, "%s.priorities[%zu]", F, i++);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (cell_cg_get_str(e, "name", f, &name, err) != 1 || !*name || strpbrk(name, " \n/"))
      return err->msg[0] ? -1 : cell_error(err, 0, "%s.name: required interface name", f);
    int q = cell_cg_get_int(e, "priority", f, 0, &prio, err);
    if (q < 0) return -1;
    if (q == 0) return cell_error(err, 0, "%s.priority: required", f);
    if (cell_cg_add(p, err, "net_prio", "net_prio.ifpriomap", f, true, "%s %lld", name, prio) < 0) return -1;
  }
  return 0;
#undef F
}

/* v1 devices: one devices.allow / devices.deny line per rule, in order */
static int v1_devices(struct cell_cg_plan *p, struct cell_err *err) {
  for (size_t i = 0; i < p->ndev; i++) {
    char line[64], f[64];
    cell_dev_rule_v1(&p->dev[i], line, sizeof line);
    snprintf(f, sizeof f, R ".devices[%zu]", i);
    if (cell_cg_add(p, err, "devices", p->dev[i].allow ? "devices.allow" : "devices.deny", f, false, "%s", line) < 0)
      return -1;
  }
  return 0;
}

static int v1_stats(const struct cell_cgroup *cg, cJSON *data, struct cell_err *err) {
  return cell_cg_stats_v1(cell_cg_path(cg, "memory"), cell_cg_path(cg, "cpu"), cell_cg_path(cg, "cpuacct"),
                          cell_cg_path(cg, "pids"), cell_cg_path(cg, "blkio"), cell_cg_path(cg, "hugetlb"), data, err);
}

static void msleep(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* freezer.state FROZEN/THAWED, rewritten every 10 polls until it shows */
static int v1_freeze(struct cell_cgroup *cg, bool frozen, struct cell_err *err) {
  char p[4200];
  const char *dir = cell_cg_path(cg, "freezer");
  if (!dir) return cell_error(err, ENOENT, "freezing the container: the v1 freezer controller is not mounted");
  snprintf(p, sizeof p, "%s/freezer.state", dir);
  const char *want = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < 1000; i++) { /* ~10 s */
    if (i % 10 == 0 && cell_cg_write(p, want, err) < 0) return -1;
    char *s = NULL;
    if (cell_cg_read(p, &s, err) < 0) return -1;
    bool ok = strncmp(s, want, strlen(want)) == 0;
    free(s);
    if (ok) return 0;
    msleep(i < 20 ? 1 : 10);
  }
  if (frozen) cell_cg_write(p, "THAWED", err);
  return cell_error(err, ETIMEDOUT, "waiting for %s to become %s", p, want);
}

static int v1_is_frozen(const struct cell_cgroup *cg, bool *frozen, struct cell_err *err) {
  char p[4200], *s = NULL;
  const char *dir = cell_cg_path(cg, "freezer");
  if (!dir) {
    *frozen = false;
    return 0;
  }
  snprintf(p, sizeof p, "%s/freezer.state", dir);
  if (cell_cg_read(p, &s, err) < 0) return -1;
  *frozen = strncmp(s, "THAWED", 6) != 0; /* FROZEN or FREEZING */
  free(s);
  return 0;
}

const struct cell_cg_driver cell_cg_driver_v1 = {
    .name = "cgroupfs v1",
    .hier = v1_hier,
    .memory = v1_memory,
    .cpu = v1_cpu,
    .blkio_weight = v1_blkio_weight,
    .blkio_leaf_weight = v1_blkio_leaf_weight,
    .blkio_throttle = v1_blkio_throttle,
    .hugetlb = v1_hugetlb,
    .network = v1_network,
    .devices = v1_devices,
    .mem_usage_file = "memory.usage_in_bytes",
    .oom_events_file = "memory.oom_control",
    .stats = v1_stats,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
};
