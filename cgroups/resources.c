/* resources.c - linux.resources: rendering into (file, value) pairs (pure),
 * applying them, and `cell update` with rollback. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define R "linux.resources"

/* ---------- plan ---------- */

void cell_cg_plan_free(struct cell_cg_plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->kv[i].controller);
    free(p->kv[i].file);
    free(p->kv[i].value);
    free(p->kv[i].field);
  }
  free(p->kv);
  free(p->dev);
  memset(p, 0, sizeof *p);
}

__attribute__((format(printf, 7, 8))) static int add(struct cell_cg_plan *p, struct cell_err *err, const char *ctrl,
                                                     const char *file, const char *field, bool keyed,
                                                     const char *fmt, ...) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 16;
    struct cell_cg_kv *nk = realloc(p->kv, nc * sizeof *nk);
    if (!nk) return cell_error(err, ENOMEM, "%s", field);
    p->kv = nk;
    p->cap = nc;
  }
  struct cell_cg_kv *kv = &p->kv[p->n];
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&kv->value, fmt, ap);
  va_end(ap);
  kv->controller = strdup(ctrl);
  kv->file = strdup(file);
  kv->field = strdup(field);
  kv->keyed = keyed;
  if (r < 0 || !kv->controller || !kv->file || !kv->field) {
    if (r >= 0) free(kv->value);
    free(kv->controller);
    free(kv->file);
    free(kv->field);
    return cell_error(err, ENOMEM, "%s", field);
  }
  p->n++;
  return 0;
}

static void warn(struct cell_cg_plan *p, const char *field, const char *why) {
  size_t l = strlen(p->warnings);
  snprintf(p->warnings + l, sizeof p->warnings - l, "%s%s %s", l ? "; " : "", field, why);
}

/* ---------- typed field access ---------- */

/* Integer member `key` of obj.  Returns 1 if present, 0 if absent/null, -1 on
 * a type error (named by field). */
static int get_int(const cJSON *obj, const char *key, const char *field, long long min, long long *out,
                   struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
    return cell_error(err, 0, "%s.%s: must be an integer", field, key);
  if (v->valuedouble < (double)min)
    return cell_error(err, 0, "%s.%s: %.0f is below the minimum %lld", field, key, v->valuedouble, min);
  if (v->valuedouble >= 9223372036854775807.0) *out = INT64_MAX;
  else *out = (long long)v->valuedouble;
  return 1;
}

static int get_bool(const cJSON *obj, const char *key, const char *field, bool *out, struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsBool(v)) return cell_error(err, 0, "%s.%s: must be a boolean", field, key);
  *out = cJSON_IsTrue(v);
  return 1;
}

static int get_str(const cJSON *obj, const char *key, const char *field, const char **out, struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsString(v)) return cell_error(err, 0, "%s.%s: must be a string", field, key);
  *out = v->valuestring;
  return 1;
}

static const cJSON *get_obj(const cJSON *obj, const char *key, const char *field, bool array, struct cell_err *err,
                            int *bad) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *bad = 0;
  if (!v || cJSON_IsNull(v)) return NULL;
  if (array ? !cJSON_IsArray(v) : !cJSON_IsObject(v)) {
    *bad = 1;
    cell_error(err, 0, "%s.%s: must be an %s", field, key, array ? "array" : "object");
    return NULL;
  }
  return v;
}

unsigned long long cell_cg_shares_to_weight(unsigned long long shares) {
  if (shares == 0) return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

static unsigned long long blkio_to_io_weight(unsigned long long w) { return 1 + ((w - 10) * 9999) / 990; }

static bool list_has(const char *list, const char *w, size_t wl) {
  const char *p = list;
  while (p && *p) {
    p += strspn(p, " \n");
    size_t l = strcspn(p, " \n");
    if (l && l == wl && strncmp(p, w, l) == 0) return true;
    p += l;
  }
  return false;
}

/* ---------- rendering ---------- */

static int render_memory(const cJSON *m, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
#undef F
#define F R ".memory"
  long long limit = 0, res = 0, swap = 0, swappiness = 0, tmp;
  int hl, hr, hs, hw;
  bool b;
  if ((hl = get_int(m, "limit", F, -1, &limit, err)) < 0) return -1;
  if ((hr = get_int(m, "reservation", F, -1, &res, err)) < 0) return -1;
  if ((hs = get_int(m, "swap", F, -1, &swap, err)) < 0) return -1;
  if ((hw = get_int(m, "swappiness", F, 0, &swappiness, err)) < 0) return -1;
  if (get_int(m, "kernel", F, -1, &tmp, err) < 0) return -1;
  if (get_int(m, "kernel", F, -1, &tmp, err) == 1) warn(p, F ".kernel", "is ignored (kernel memory limits are deprecated)");
  if (get_int(m, "kernelTCP", F, -1, &tmp, err) < 0) return -1;
  if (get_int(m, "kernelTCP", F, -1, &tmp, err) == 1) warn(p, F ".kernelTCP", "is ignored (kernel memory limits are deprecated)");
  if (hw == 1 && swappiness > 100)
    return cell_error(err, 0, "%s.swappiness: %lld is out of range 0-100", F, swappiness);
  if (hl == 1 && limit == 0) hl = 0; /* 0 = unset */
  if (hs == 1 && swap == 0) hs = 0;
  if (hs == 1 && swap != -1 && hl == 1 && limit != -1 && swap < limit)
    return cell_error(err, 0, "%s.swap: memory+swap limit %lld must be >= memory.limit %lld", F, swap, limit);
  bool check = false;
  if (get_bool(m, "checkBeforeUpdate", F, &check, err) < 0) return -1;
  if (check && hl == 1 && limit > 0) {
    p->check_before_update = true;
    p->mem_limit = limit;
  }
  if (!v2) {
    if (hl == 1 && add(p, err, "memory", "memory.limit_in_bytes", F ".limit", false, "%lld", limit) < 0) return -1;
    if (hs == 1 && add(p, err, "memory", "memory.memsw.limit_in_bytes", F ".swap", false, "%lld", swap) < 0) return -1;
    if (hr == 1 && add(p, err, "memory", "memory.soft_limit_in_bytes", F ".reservation", false, "%lld", res) < 0)
      return -1;
    if (hw == 1 && add(p, err, "memory", "memory.swappiness", F ".swappiness", false, "%lld", swappiness) < 0) return -1;
    int r = get_bool(m, "disableOOMKiller", F, &b, err);
    if (r < 0) return -1;
    if (r == 1 && add(p, err, "memory", "memory.oom_control", F ".disableOOMKiller", false, "%d", b ? 1 : 0) < 0)
      return -1;
    r = get_bool(m, "useHierarchy", F, &b, err);
    if (r < 0) return -1;
    if (r == 1 && add(p, err, "memory", "memory.use_hierarchy", F ".useHierarchy", false, "%d", b ? 1 : 0) < 0)
      return -1;
    return 0;
  }
  char v[32];
  if (hl == 1) {
    if (limit == -1) snprintf(v, sizeof v, "max");
    else snprintf(v, sizeof v, "%lld", limit);
    if (add(p, err, "", "memory.max", F ".limit", false, "%s", v) < 0) return -1;
  }
  /* v2 memory.swap.max holds swap alone: swap - limit */
  if (hs == 1 || (hl == 1 && limit == -1)) {
    if (hs == 0 || swap == -1) snprintf(v, sizeof v, "max");
    else if (hl == 0 || limit == -1)
      return cell_error(err, 0, "%s.swap: cannot set a swap limit without memory.limit on cgroup v2", F);
    else snprintf(v, sizeof v, "%lld", swap - limit);
    if (add(p, err, "", "memory.swap.max", F ".swap", false, "%s", v) < 0) return -1;
  }
  if (hr == 1) {
    if (res == -1) snprintf(v, sizeof v, "max");
    else snprintf(v, sizeof v, "%lld", res);
    if (add(p, err, "", "memory.low", F ".reservation", false, "%s", v) < 0) return -1;
  }
  if (hw == 1) warn(p, F ".swappiness", "is ignored on cgroup v2");
  if (get_bool(m, "disableOOMKiller", F, &b, err) == 1 && b) warn(p, F ".disableOOMKiller", "is ignored on cgroup v2");
  if (get_bool(m, "useHierarchy", F, &b, err) == 1) warn(p, F ".useHierarchy", "is ignored on cgroup v2");
  return 0;
}

static int render_cpu(const cJSON *c, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
#undef F
#define F R ".cpu"
  long long shares = 0, quota = 0, period = 0, burst = 0, rtr = 0, rtp = 0, idle = 0;
  int hs, hq, hp, hb, hrr, hrp, hi;
  const char *cpus = NULL, *mems = NULL;
  if ((hs = get_int(c, "shares", F, 0, &shares, err)) < 0) return -1;
  if ((hq = get_int(c, "quota", F, -1, &quota, err)) < 0) return -1;
  if ((hp = get_int(c, "period", F, 0, &period, err)) < 0) return -1;
  if ((hb = get_int(c, "burst", F, 0, &burst, err)) < 0) return -1;
  if ((hrr = get_int(c, "realtimeRuntime", F, -1, &rtr, err)) < 0) return -1;
  if ((hrp = get_int(c, "realtimePeriod", F, 0, &rtp, err)) < 0) return -1;
  if ((hi = get_int(c, "idle", F, 0, &idle, err)) < 0) return -1;
  if (get_str(c, "cpus", F, &cpus, err) < 0 || get_str(c, "mems", F, &mems, err) < 0) return -1;
  if (hi == 1 && idle > 1) return cell_error(err, 0, "%s.idle: %lld must be 0 or 1", F, idle);
  for (const char *s = cpus; s && *s; s++)
    if (!strchr("0123456789,- ", *s)) return cell_error(err, 0, "%s.cpus: \"%s\" is not a CPU list", F, cpus);
  for (const char *s = mems; s && *s; s++)
    if (!strchr("0123456789,- ", *s)) return cell_error(err, 0, "%s.mems: \"%s\" is not a node list", F, mems);
  if (hs == 1 && shares == 0) hs = 0;
  if (hq == 1 && quota == 0) hq = 0;
  if (hp == 1 && period == 0) hp = 0;
  if (!v2) {
    if (hs == 1 && add(p, err, "cpu", "cpu.shares", F ".shares", false, "%lld", shares) < 0) return -1;
    if (hp == 1 && add(p, err, "cpu", "cpu.cfs_period_us", F ".period", false, "%lld", period) < 0) return -1;
    if (hq == 1 && add(p, err, "cpu", "cpu.cfs_quota_us", F ".quota", false, "%lld", quota) < 0) return -1;
    if (hb == 1 && add(p, err, "cpu", "cpu.cfs_burst_us", F ".burst", false, "%lld", burst) < 0) return -1;
    if (hrp == 1 && rtp && add(p, err, "cpu", "cpu.rt_period_us", F ".realtimePeriod", false, "%lld", rtp) < 0)
      return -1;
    if (hrr == 1 && add(p, err, "cpu", "cpu.rt_runtime_us", F ".realtimeRuntime", false, "%lld", rtr) < 0) return -1;
    if (hi == 1 && add(p, err, "cpu", "cpu.idle", F ".idle", false, "%lld", idle) < 0) return -1;
  } else {
    if (hs == 1) {
      if (shares < 2 || shares > 262144)
        return cell_error(err, 0, "%s.shares: %lld is out of range 2-262144", F, shares);
      if (add(p, err, "", "cpu.weight", F ".shares", false, "%llu",
              cell_cg_shares_to_weight((unsigned long long)shares)) < 0)
        return -1;
    }
    if (hq == 1 || hp == 1) {
      char v[64];
      int n = (hq == 1 && quota > 0) ? snprintf(v, sizeof v, "%lld", quota) : snprintf(v, sizeof v, "max");
      if (hp == 1) snprintf(v + n, sizeof v - (size_t)n, " %lld", period);
      if (add(p, err, "", "cpu.max", hq == 1 ? F ".quota" : F ".period", false, "%s", v) < 0) return -1;
    }
    if (hb == 1 && add(p, err, "", "cpu.max.burst", F ".burst", false, "%lld", burst) < 0) return -1;
    if ((hrr == 1 && rtr != 0) || (hrp == 1 && rtp != 0))
      return cell_error(err, 0, "%s.%s: realtime scheduling limits are not supported on cgroup v2", F,
                        hrr == 1 ? "realtimeRuntime" : "realtimePeriod");
    if (hi == 1 && add(p, err, "", "cpu.idle", F ".idle", false, "%lld", idle) < 0) return -1;
  }
  const char *cs = v2 ? "" : "cpuset";
  if (cpus && *cpus && add(p, err, cs, "cpuset.cpus", F ".cpus", false, "%s", cpus) < 0) return -1;
  if (mems && *mems && add(p, err, cs, "cpuset.mems", F ".mems", false, "%s", mems) < 0) return -1;
  return 0;
}

static int dev_entry(const cJSON *e, const char *field, long long *maj, long long *min, struct cell_err *err) {
  if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", field);
  if (get_int(e, "major", field, 0, maj, err) != 1 || get_int(e, "minor", field, 0, min, err) != 1)
    return err->msg[0] ? -1 : cell_error(err, 0, "%s: major and minor are required", field);
  return 0;
}

static int render_blkio(const cJSON *b, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
#undef F
#define F R ".blockIO"
  long long w = 0, lw = 0;
  int hw, hlw, bad;
  if ((hw = get_int(b, "weight", F, 0, &w, err)) < 0) return -1;
  if ((hlw = get_int(b, "leafWeight", F, 0, &lw, err)) < 0) return -1;
  if (hw == 1 && w != 0 && (w < 10 || w > 1000))
    return cell_error(err, 0, "%s.weight: %lld is out of range 10-1000", F, w);
  if (hlw == 1 && lw != 0 && (lw < 10 || lw > 1000))
    return cell_error(err, 0, "%s.leafWeight: %lld is out of range 10-1000", F, lw);
  if (hw == 1 && w) {
    if (v2 ? add(p, err, "", "io.weight", F ".weight", true, "default %llu", blkio_to_io_weight((unsigned long long)w))
           : add(p, err, "blkio", "blkio.weight", F ".weight", false, "%lld", w))
      return -1;
  }
  if (hlw == 1 && lw) {
    if (v2) warn(p, F ".leafWeight", "is ignored on cgroup v2");
    else if (add(p, err, "blkio", "blkio.leaf_weight", F ".leafWeight", false, "%lld", lw) < 0) return -1;
  }
  const cJSON *wd = get_obj(b, "weightDevice", F, true, err, &bad), *e;
  if (bad) return -1;
  size_t i = 0;
  cJSON_ArrayForEach(e, wd) {
    char f[128];
    long long maj, min, dw = 0, dlw = 0;
    snprintf(f, sizeof f, "%s.weightDevice[%zu]", F, i++);
    if (dev_entry(e, f, &maj, &min, err) < 0) return -1;
    int a = get_int(e, "weight", f, 0, &dw, err), c = get_int(e, "leafWeight", f, 0, &dlw, err);
    if (a < 0 || c < 0) return -1;
    if ((a == 1 && (dw < 10 || dw > 1000)) || (c == 1 && (dlw < 10 || dlw > 1000)))
      return cell_error(err, 0, "%s: weight out of range 10-1000", f);
    if (a == 1) {
      if (v2 ? add(p, err, "", "io.weight", f, true, "%lld:%lld %llu", maj, min, blkio_to_io_weight((unsigned long long)dw))
             : add(p, err, "blkio", "blkio.weight_device", f, true, "%lld:%lld %lld", maj, min, dw))
        return -1;
    }
    if (c == 1) {
      if (v2) warn(p, f, "leafWeight is ignored on cgroup v2");
      else if (add(p, err, "blkio", "blkio.leaf_weight_device", f, true, "%lld:%lld %lld", maj, min, dlw) < 0) return -1;
    }
  }
  static const struct {
    const char *key, *v1file, *v2key;
  } thr[] = {{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
             {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
             {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
             {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"}};
  for (size_t t = 0; t < 4; t++) {
    const cJSON *arr = get_obj(b, thr[t].key, F, true, err, &bad);
    if (bad) return -1;
    i = 0;
    cJSON_ArrayForEach(e, arr) {
      char f[128];
      long long maj, min, rate;
      snprintf(f, sizeof f, "%s.%s[%zu]", F, thr[t].key, i++);
      if (dev_entry(e, f, &maj, &min, err) < 0) return -1;
      int a = get_int(e, "rate", f, 0, &rate, err);
      if (a < 0) return -1;
      if (a == 0) return cell_error(err, 0, "%s.rate: required", f);
      int r;
      if (v2) {
        if (rate == 0) r = add(p, err, "", "io.max", f, true, "%lld:%lld %s=max", maj, min, thr[t].v2key);
        else r = add(p, err, "", "io.max", f, true, "%lld:%lld %s=%lld", maj, min, thr[t].v2key, rate);
      } else {
        r = add(p, err, "blkio", thr[t].v1file, f, true, "%lld:%lld %lld", maj, min, rate);
      }
      if (r < 0) return -1;
    }
  }
  return 0;
}

static bool valid_pagesize(const char *s) {
  size_t d = strspn(s, "0123456789");
  return d > 0 && (strcmp(s + d, "KB") == 0 || strcmp(s + d, "MB") == 0 || strcmp(s + d, "GB") == 0);
}

static int render_hugetlb(const cJSON *arr, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
  const cJSON *e;
  size_t i = 0;
  cJSON_ArrayForEach(e, arr) {
    char f[96], file[96];
    const char *ps = NULL;
    long long lim;
    snprintf(f, sizeof f, R ".hugepageLimits[%zu]", i++);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (get_str(e, "pageSize", f, &ps, err) != 1) return err->msg[0] ? -1 : cell_error(err, 0, "%s.pageSize: required", f);
    if (!valid_pagesize(ps)) return cell_error(err, 0, "%s.pageSize: \"%s\" is not like \"2MB\"", f, ps);
    int r = get_int(e, "limit", f, 0, &lim, err);
    if (r < 0) return -1;
    if (r == 0) return cell_error(err, 0, "%s.limit: required", f);
    snprintf(file, sizeof file, v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", ps);
    if (add(p, err, v2 ? "" : "hugetlb", file, f, false, "%lld", lim) < 0) return -1;
  }
  return 0;
}

static int render_rdma(const cJSON *obj, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
  const cJSON *e;
  cJSON_ArrayForEach(e, obj) {
    char f[160];
    snprintf(f, sizeof f, R ".rdma.%s", e->string);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (strpbrk(e->string, " \n/=") || !*e->string) return cell_error(err, 0, "%s: invalid device name", f);
    long long h = 0, o = 0;
    int hh = get_int(e, "hcaHandles", f, 0, &h, err), ho = get_int(e, "hcaObjects", f, 0, &o, err);
    if (hh < 0 || ho < 0) return -1;
    if (!hh && !ho) continue;
    char v[200];
    int n = snprintf(v, sizeof v, "%s", e->string);
    if (hh) n += snprintf(v + n, sizeof v - (size_t)n, " hca_handle=%lld", h);
    if (ho) snprintf(v + n, sizeof v - (size_t)n, " hca_object=%lld", o);
    if (add(p, err, v2 ? "" : "rdma", "rdma.max", f, true, "%s", v) < 0) return -1;
  }
  return 0;
}

static int render_network(const cJSON *n, bool v2, struct cell_cg_plan *p, struct cell_err *err) {
#undef F
#define F R ".network"
  long long cls;
  int bad, r = get_int(n, "classID", F, 0, &cls, err);
  if (r < 0) return -1;
  const cJSON *pr = get_obj(n, "priorities", F, true, err, &bad), *e;
  if (bad) return -1;
  if (v2 && (r == 1 || cJSON_GetArraySize(pr) > 0))
    return cell_error(err, 0, "%s: net_cls/net_prio are cgroup v1 controllers, not available on cgroup v2", F);
  if (r == 1 && add(p, err, "net_cls", "net_cls.classid", F ".classID", false, "%lld", cls) < 0) return -1;
  size_t i = 0;
  cJSON_ArrayForEach(e, pr) {
    char f[96];
    const char *name = NULL;
    long long prio;
    snprintf(f, sizeof f, "%s.priorities[%zu]", F, i++);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (get_str(e, "name", f, &name, err) != 1 || !*name || strpbrk(name, " \n/"))
      return err->msg[0] ? -1 : cell_error(err, 0, "%s.name: required interface name", f);
    int q = get_int(e, "priority", f, 0, &prio, err);
    if (q < 0) return -1;
    if (q == 0) return cell_error(err, 0, "%s.priority: required", f);
    if (add(p, err, "net_prio", "net_prio.ifpriomap", f, true, "%s %lld", name, prio) < 0) return -1;
  }
  return 0;
}

static int render_unified(const cJSON *u, const char *enabled, struct cell_cg_plan *p, struct cell_err *err) {
  const cJSON *e;
  cJSON_ArrayForEach(e, u) {
    const char *k = e->string;
    char f[300];
    snprintf(f, sizeof f, R ".unified.%s", k);
    if (!enabled) return cell_error(err, 0, "%s: unified resources need cgroup v2", f);
    if (!cJSON_IsString(e)) return cell_error(err, 0, "%s: value must be a string", f);
    if (!*k || strchr(k, '/') || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
      return cell_error(err, 0, "%s: not a cgroup file name", f);
    const char *dot = strchr(k, '.');
    if (!dot || dot == k || !dot[1]) return cell_error(err, 0, "%s: not a cgroup file name (want controller.file)", f);
    size_t cl = (size_t)(dot - k);
    if (cl == 6 && strncmp(k, "cgroup", 6) == 0) {
      if (strcmp(k, "cgroup.procs") == 0 || strcmp(k, "cgroup.threads") == 0 || strcmp(k, "cgroup.kill") == 0)
        return cell_error(err, 0, "%s: moving or killing processes is not a resource", f);
    } else if (!list_has(enabled, k, cl)) {
      return cell_error(err, 0, "%s: controller \"%.*s\" is not enabled for this cgroup", f, (int)cl, k);
    }
    if (add(p, err, "", k, f, false, "%s", e->valuestring) < 0) return -1;
  }
  return 0;
}

int cell_cg_render(const cJSON *res, bool v2, const char *enabled, struct cell_cg_plan *p, struct cell_err *err) {
  memset(p, 0, sizeof *p);
  err->msg[0] = 0;
  if (!res || cJSON_IsNull(res)) return 0;
  if (!cJSON_IsObject(res)) return cell_error(err, 0, R ": must be an object");
  int bad;
  const cJSON *o;
#define SECTION(key, arr, fn)                                          \
  o = get_obj(res, key, R, arr, err, &bad);                            \
  if (bad || (o && fn(o, v2, p, err) < 0)) goto fail;
  SECTION("memory", false, render_memory)
  SECTION("cpu", false, render_cpu)
  o = get_obj(res, "pids", R, false, err, &bad);
  if (bad) goto fail;
  if (o) {
    long long lim;
    int r = get_int(o, "limit", R ".pids", -1 - INT64_MAX, &lim, err);
    if (r < 0) goto fail;
    if (r == 1 && lim != 0) {
      if (lim < 0 ? add(p, err, v2 ? "" : "pids", "pids.max", R ".pids.limit", false, "max")
                  : add(p, err, v2 ? "" : "pids", "pids.max", R ".pids.limit", false, "%lld", lim))
        goto fail;
    }
  }
  SECTION("blockIO", false, render_blkio)
  SECTION("hugepageLimits", true, render_hugetlb)
  SECTION("rdma", false, render_rdma)
  SECTION("network", false, render_network)
#undef SECTION
  o = get_obj(res, "unified", R, false, err, &bad);
  if (bad || (o && render_unified(o, enabled, p, err) < 0)) goto fail;
  const cJSON *dev = cJSON_GetObjectItemCaseSensitive(res, "devices");
  if (dev && !cJSON_IsNull(dev)) {
    if (cell_dev_rules_parse(dev, &p->dev, &p->ndev, err) < 0) goto fail;
    if (v2) {
      p->has_devices = true;
    } else {
      for (size_t i = 0; i < p->ndev; i++) {
        char line[64], f[64];
        cell_dev_rule_v1(&p->dev[i], line, sizeof line);
        snprintf(f, sizeof f, R ".devices[%zu]", i);
        if (add(p, err, "devices", p->dev[i].allow ? "devices.allow" : "devices.deny", f, false, "%s", line) < 0)
          goto fail;
      }
    }
  }
  return 0;
fail:
  cell_cg_plan_free(p);
  return -1;
}

/* ---------- applying ---------- */

struct saved {
  char *path;
  char *value; /* NULL = nothing to restore */
};

/* The value to write back to undo kv, read from the file's current text. */
static char *old_value(const struct cell_cg_kv *kv, const char *cur) {
  if (strcmp(kv->file, "memory.oom_control") == 0) {
    const char *d = strstr(cur, "oom_kill_disable ");
    return strndup(d ? d + 17 : "0", 1);
  }
  if (!kv->keyed) {
    size_t l = strlen(cur);
    while (l && (cur[l - 1] == '\n' || cur[l - 1] == ' ')) l--;
    return strndup(cur, l);
  }
  size_t kl = strcspn(kv->value, " ");
  for (const char *line = cur; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    if (ll > kl && strncmp(line, kv->value, kl) == 0 && line[kl] == ' ') return strndup(line, ll);
    line = nl ? nl + 1 : NULL;
  }
  /* the key had no line: write the "unset" form */
  char *r = NULL;
  const char *f = kv->file;
  int n;
  if (strcmp(f, "io.max") == 0)
    n = asprintf(&r, "%.*s rbps=max wbps=max riops=max wiops=max", (int)kl, kv->value);
  else if (strcmp(f, "io.weight") == 0)
    n = asprintf(&r, "%.*s default", (int)kl, kv->value);
  else if (strcmp(f, "rdma.max") == 0)
    n = asprintf(&r, "%.*s hca_handle=max hca_object=max", (int)kl, kv->value);
  else
    n = asprintf(&r, "%.*s 0", (int)kl, kv->value);
  return n < 0 ? NULL : r;
}

static int kv_dir(const struct cell_cgroup *cg, const struct cell_cg_kv *kv, const char **dir, struct cell_err *err) {
  const struct cell_cg_hier *h = cell_cg_hier_for(cg, kv->controller);
  if (!h) {
    if (!*kv->controller) return cell_error(err, 0, "%s: no cgroup v2 hierarchy for %s", kv->field, kv->file);
    return cell_error(err, 0, "%s: the %s controller is not mounted (needed for %s)", kv->field, kv->controller,
                      kv->file);
  }
  *dir = h->path;
  return 0;
}

static int kv_path(const struct cell_cgroup *cg, const struct cell_cg_kv *kv, char *path, size_t len,
                   struct cell_err *err) {
  const char *dir = NULL;
  if (kv_dir(cg, kv, &dir, err) < 0) return -1;
  snprintf(path, len, "%s/%s", dir, kv->file);
  if (strcmp(kv->file, "blkio.weight") == 0 && access(path, F_OK) < 0) {
    /* kernels with only BFQ expose blkio.bfq.weight */
    char alt[4200];
    snprintf(alt, sizeof alt, "%s/blkio.bfq.weight", dir);
    if (access(alt, F_OK) == 0) snprintf(path, len, "%s", alt);
  }
  if (access(path, F_OK) < 0 && errno == ENOENT && !*kv->controller && cg->layout != CELL_CG_LEGACY) {
    size_t cl = strcspn(kv->file, ".");
    return cell_error(err, ENOENT, "%s: %s is missing (is the %.*s controller enabled in the parent's cgroup.subtree_control?)",
                      kv->field, path, (int)cl, kv->file);
  }
  return 0;
}

static void restore(struct saved *s, size_t n) {
  struct cell_err e;
  for (size_t i = n; i-- > 0;)
    if (s[i].value) cell_cg_write(s[i].path, s[i].value, &e);
}

static void saved_free(struct saved *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(s[i].path);
    free(s[i].value);
  }
  free(s);
}

static int devices_v1_snapshot(const char *dir, char **out, struct cell_err *err) {
  char p[4200];
  snprintf(p, sizeof p, "%s/devices.list", dir);
  return cell_cg_read(p, out, err);
}

static void devices_v1_restore(const char *dir, const char *list) {
  char p[4200];
  struct cell_err e;
  snprintf(p, sizeof p, "%s/devices.deny", dir);
  cell_cg_write(p, "a", &e);
  snprintf(p, sizeof p, "%s/devices.allow", dir);
  for (const char *l = list; l && *l;) {
    const char *nl = strchr(l, '\n');
    char line[128];
    snprintf(line, sizeof line, "%.*s", (int)(nl ? nl - l : (long)strlen(l)), l);
    if (*line) cell_cg_write(p, line, &e);
    l = nl ? nl + 1 : NULL;
  }
}

static int apply_plan(struct cell_cgroup *cg, const struct cell_cg_plan *p, bool rollback, struct cell_err *err) {
  struct saved *sv = calloc(p->n + 1, sizeof *sv);
  bool *done = calloc(p->n + 1, sizeof *done);
  char *devlist = NULL;
  const char *devdir = NULL;
  size_t nsv = 0;
  int rc = 0;
  if (!sv || !done) {
    free(sv);
    free(done);
    return cell_error(err, ENOMEM, R);
  }
  for (size_t i = 0; i < p->n && rc == 0; i++) {
    if (done[i]) continue;
    const struct cell_cg_kv *kv = &p->kv[i];
    char path[4200];
    if (kv_path(cg, kv, path, sizeof path, err) < 0) {
      rc = -1;
      break;
    }
    bool is_dev = strcmp(kv->file, "devices.allow") == 0 || strcmp(kv->file, "devices.deny") == 0;
    if (rollback && is_dev && !devlist) {
      kv_dir(cg, kv, &devdir, err);
      if (devices_v1_snapshot(devdir, &devlist, err) < 0) {
        rc = cell_error_wrap(err, "%s", kv->field);
        break;
      }
    }
    if (rollback && !is_dev) {
      char *cur = NULL;
      if (cell_cg_read(path, &cur, err) < 0) {
        rc = cell_error_wrap(err, "%s", kv->field);
        break;
      }
      sv[nsv].path = strdup(path);
      sv[nsv].value = old_value(kv, cur);
      free(cur);
      nsv++;
    }
    if (cell_cg_write(path, kv->value, err) == 0) continue;
    /* v1 memory: limit and memsw must stay limit <= memsw at every step;
     * when raising, memsw has to go first. */
    if (strcmp(kv->file, "memory.limit_in_bytes") == 0 && (err->errnum == EINVAL || err->errnum == EBUSY)) {
      size_t j;
      for (j = i + 1; j < p->n; j++)
        if (strcmp(p->kv[j].file, "memory.memsw.limit_in_bytes") == 0) break;
      if (j < p->n) {
        char sp[4200];
        struct cell_err e2;
        if (kv_path(cg, &p->kv[j], sp, sizeof sp, err) == 0) {
          if (rollback) {
            char *cur = NULL;
            if (cell_cg_read(sp, &cur, &e2) == 0) {
              sv[nsv].path = strdup(sp);
              sv[nsv].value = old_value(&p->kv[j], cur);
              nsv++;
              free(cur);
            }
          }
          if (cell_cg_write(sp, p->kv[j].value, &e2) == 0) {
            done[j] = true;
            if (cell_cg_write(path, kv->value, err) == 0) continue;
          }
        }
      }
    }
    rc = cell_error_wrap(err, "%s", kv->field);
  }
  if (rc == 0 && p->has_devices) {
    const struct cell_cg_hier *h = cell_cg_hier_for(cg, "");
    if (!h) {
      rc = cell_error(err, 0, R ".devices: no cgroup v2 hierarchy to attach the device program to");
    } else {
      int fd = open(h->path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (fd < 0) rc = cell_error(err, errno, R ".devices: opening %s", h->path);
      else {
        rc = cell_dev_bpf_apply(fd, p->dev, p->ndev, err);
        if (rc < 0) cell_error_wrap(err, R ".devices");
        close(fd);
      }
    }
  }
  if (rc < 0 && rollback) {
    restore(sv, nsv);
    if (devlist) devices_v1_restore(devdir, devlist);
  }
  saved_free(sv, nsv);
  free(done);
  free(devlist);
  return rc;
}

static int render_for(struct cell_cgroup *cg, const cJSON *res, struct cell_cg_plan *p, struct cell_err *err) {
  char *enabled = NULL;
  const struct cell_cg_hier *u = cell_cg_hier_for(cg, "");
  if (u) {
    char path[4200];
    snprintf(path, sizeof path, "%s/cgroup.controllers", u->path);
    if (cell_cg_read(path, &enabled, err) < 0) return -1;
  }
  int r = cell_cg_render(res, cg->layout == CELL_CG_UNIFIED, enabled, p, err);
  free(enabled);
  if (r == 0 && p->warnings[0]) fprintf(stderr, "cell: warning: %s\n", p->warnings);
  return r;
}

int cell_cg_apply_resources(struct cell_cgroup *cg, const cJSON *resources, struct cell_err *err) {
  struct cell_cg_plan p;
  if (render_for(cg, resources, &p, err) < 0) return -1;
  int r = apply_plan(cg, &p, false, err);
  cell_cg_plan_free(&p);
  return r;
}

int cell_cg_update(struct cell_cgroup *cg, const cJSON *resources, struct cell_err *err) {
  struct cell_cg_plan p;
  if (render_for(cg, resources, &p, err) < 0) return -1;
  if (p.check_before_update) {
    bool v2 = cg->layout == CELL_CG_UNIFIED;
    const char *dir = cell_cg_path(cg, v2 ? "" : "memory");
    char path[4200], *s = NULL;
    if (!dir) {
      cell_cg_plan_free(&p);
      return cell_error(err, 0, R ".memory.checkBeforeUpdate: no memory hierarchy");
    }
    snprintf(path, sizeof path, "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
    if (cell_cg_read(path, &s, err) < 0) {
      cell_cg_plan_free(&p);
      return cell_error_wrap(err, R ".memory.checkBeforeUpdate");
    }
    unsigned long long usage = strtoull(s, NULL, 10);
    free(s);
    if ((unsigned long long)p.mem_limit < usage) {
      cell_error(err, 0, R ".memory.limit: %lld is below the current usage %llu (checkBeforeUpdate)", p.mem_limit, usage);
      cell_cg_plan_free(&p);
      return -1;
    }
  }
  int r = apply_plan(cg, &p, true, err);
  cell_cg_plan_free(&p);
  return r;
}
