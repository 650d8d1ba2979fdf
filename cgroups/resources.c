/* resources.c - linux.resources: rendering into (file, value) pairs (pure),
 * applying them, and `cell update` with rollback. */
#include "cgroups/cgroup_internal.h"

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

int cell_cg_add(struct cell_cg_plan *p, struct cell_err *err, const char *ctrl, const char *file, const char *field,
                bool keyed, const char *fmt, ...) {
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

void cell_cg_warn(struct cell_cg_plan *p, const char *field, const char *why) {
  size_t l = strlen(p->warnings);
  snprintf(p->warnings + l, sizeof p->warnings - l, "%s%s %s", l ? "; " : "", field, why);
}

/* ---------- typed field access ---------- */

int cell_cg_get_int(const cJSON *obj, const char *key, const char *field, long long min, long long *out,
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

int cell_cg_get_bool(const cJSON *obj, const char *key, const char *field, bool *out, struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsBool(v)) return cell_error(err, 0, "%s.%s: must be a boolean", field, key);
  *out = cJSON_IsTrue(v);
  return 1;
}

int cell_cg_get_str(const cJSON *obj, const char *key, const char *field, const char **out, struct cell_err *err) {
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

/* ---------- drivers ---------- */

/* Indexed by enum cell_cg_layout: the one place the layout picks a driver. */
static const struct cell_cg_driver *const by_layout[] = {
    [CELL_CG_UNIFIED] = &cell_cg_driver_v2,
    [CELL_CG_HYBRID] = &cell_cg_driver_v1,
    [CELL_CG_LEGACY] = &cell_cg_driver_v1,
};

const struct cell_cg_driver *const cell_cg_driver_systemd = NULL;

const struct cell_cg_driver *cell_cg_driver_for(enum cell_cg_layout layout) {
  if ((size_t)layout >= sizeof by_layout / sizeof by_layout[0]) return &cell_cg_driver_v1;
  return by_layout[layout];
}

int cell_cg_driver_select(enum cell_cg_layout layout, bool systemd, const struct cell_cg_driver **out,
                          struct cell_err *err) {
  if (systemd) {
    if (!cell_cg_driver_systemd)
      return cell_error(err, ENOSYS, "systemd cgroup driver: not implemented yet (use the cgroupfs manager)");
    *out = cell_cg_driver_systemd;
    return 0;
  }
  *out = cell_cg_driver_for(layout);
  return 0;
}

const struct cell_cg_driver *cell_cg_drv(const struct cell_cgroup *cg) { return cell_cg_driver_for(cg->layout); }

/* ---------- rendering: the checks common to every driver ---------- */

static int render_memory(const cJSON *m, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                         struct cell_err *err) {
#undef F
#define F R ".memory"
  struct cell_cg_mem mem = {0};
  long long tmp;
  if ((mem.hl = cell_cg_get_int(m, "limit", F, -1, &mem.limit, err)) < 0) return -1;
  if ((mem.hr = cell_cg_get_int(m, "reservation", F, -1, &mem.res, err)) < 0) return -1;
  if ((mem.hs = cell_cg_get_int(m, "swap", F, -1, &mem.swap, err)) < 0) return -1;
  if ((mem.hw = cell_cg_get_int(m, "swappiness", F, 0, &mem.swappiness, err)) < 0) return -1;
  if (cell_cg_get_int(m, "kernel", F, -1, &tmp, err) < 0) return -1;
  if (cell_cg_get_int(m, "kernel", F, -1, &tmp, err) == 1)
    cell_cg_warn(p, F ".kernel", "is ignored (kernel memory limits are deprecated)");
  if (cell_cg_get_int(m, "kernelTCP", F, -1, &tmp, err) < 0) return -1;
  if (cell_cg_get_int(m, "kernelTCP", F, -1, &tmp, err) == 1)
    cell_cg_warn(p, F ".kernelTCP", "is ignored (kernel memory limits are deprecated)");
  if (mem.hw == 1 && mem.swappiness > 100)
    return cell_error(err, 0, "%s.swappiness: %lld is out of range 0-100", F, mem.swappiness);
  if (mem.hl == 1 && mem.limit == 0) mem.hl = 0; /* 0 = unset */
  if (mem.hs == 1 && mem.swap == 0) mem.hs = 0;
  if (mem.hs == 1 && mem.swap != -1 && mem.hl == 1 && mem.limit != -1 && mem.swap < mem.limit)
    return cell_error(err, 0, "%s.swap: memory+swap limit %lld must be >= memory.limit %lld", F, mem.swap, mem.limit);
  bool check = false;
  if (cell_cg_get_bool(m, "checkBeforeUpdate", F, &check, err) < 0) return -1;
  if (check && mem.hl == 1 && mem.limit > 0) {
    p->check_before_update = true;
    p->mem_limit = mem.limit;
  }
  return drv->memory(m, &mem, p, err);
}

static int render_cpu(const cJSON *c, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                      struct cell_err *err) {
#undef F
#define F R ".cpu"
  struct cell_cg_cpu v = {0};
  const char *cpus = NULL, *mems = NULL;
  if ((v.hs = cell_cg_get_int(c, "shares", F, 0, &v.shares, err)) < 0) return -1;
  if ((v.hq = cell_cg_get_int(c, "quota", F, -1, &v.quota, err)) < 0) return -1;
  if ((v.hp = cell_cg_get_int(c, "period", F, 0, &v.period, err)) < 0) return -1;
  if ((v.hb = cell_cg_get_int(c, "burst", F, 0, &v.burst, err)) < 0) return -1;
  if ((v.hrr = cell_cg_get_int(c, "realtimeRuntime", F, -1, &v.rtr, err)) < 0) return -1;
  if ((v.hrp = cell_cg_get_int(c, "realtimePeriod", F, 0, &v.rtp, err)) < 0) return -1;
  if ((v.hi = cell_cg_get_int(c, "idle", F, 0, &v.idle, err)) < 0) return -1;
  if (cell_cg_get_str(c, "cpus", F, &cpus, err) < 0 || cell_cg_get_str(c, "mems", F, &mems, err) < 0) return -1;
  if (v.hi == 1 && v.idle > 1) return cell_error(err, 0, "%s.idle: %lld must be 0 or 1", F, v.idle);
  for (const char *s = cpus; s && *s; s++)
    if (!strchr("0123456789,- ", *s)) return cell_error(err, 0, "%s.cpus: \"%s\" is not a CPU list", F, cpus);
  for (const char *s = mems; s && *s; s++)
    if (!strchr("0123456789,- ", *s)) return cell_error(err, 0, "%s.mems: \"%s\" is not a node list", F, mems);
  if (v.hs == 1 && v.shares == 0) v.hs = 0;
  if (v.hq == 1 && v.quota == 0) v.hq = 0;
  if (v.hp == 1 && v.period == 0) v.hp = 0;
  if (drv->cpu(&v, p, err) < 0) return -1;
  const char *cs = drv->hier("cpuset");
  if (cpus && *cpus && cell_cg_add(p, err, cs, "cpuset.cpus", F ".cpus", false, "%s", cpus) < 0) return -1;
  if (mems && *mems && cell_cg_add(p, err, cs, "cpuset.mems", F ".mems", false, "%s", mems) < 0) return -1;
  return 0;
}

static int dev_entry(const cJSON *e, const char *field, long long *maj, long long *min, struct cell_err *err) {
  if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", field);
  if (cell_cg_get_int(e, "major", field, 0, maj, err) != 1 || cell_cg_get_int(e, "minor", field, 0, min, err) != 1)
    return err->msg[0] ? -1 : cell_error(err, 0, "%s: major and minor are required", field);
  return 0;
}

static int render_blkio_throttle(const cJSON *b, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                                 struct cell_err *err) {
#undef F
#define F R ".blockIO"
  static const char *const keys[] = {
      [CELL_CG_THR_READ_BPS] = "throttleReadBpsDevice", [CELL_CG_THR_WRITE_BPS] = "throttleWriteBpsDevice",
      [CELL_CG_THR_READ_IOPS] = "throttleReadIOPSDevice", [CELL_CG_THR_WRITE_IOPS] = "throttleWriteIOPSDevice"};
  int bad;
  for (size_t t = 0; t < 4; t++) {
    const cJSON *arr = get_obj(b, keys[t], F, true, err, &bad), *e;
    if (bad) return -1;
    size_t i = 0;
    cJSON_ArrayForEach(e, arr) {
      char f[128];
      long long maj, min, rate;
      snprintf(f, sizeof f, "%s.%s[%zu]", F, keys[t], i++);
      if (dev_entry(e, f, &maj, &min, err) < 0) return -1;
      int a = cell_cg_get_int(e, "rate", f, 0, &rate, err);
      if (a < 0) return -1;
      if (a == 0) return cell_error(err, 0, "%s.rate: required", f);
      if (drv->blkio_throttle(p, f, (enum cell_cg_throttle)t, maj, min, rate, err) < 0) return -1;
    }
  }
  return 0;
}

static int render_blkio(const cJSON *b, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                        struct cell_err *err) {
  long long w = 0, lw = 0;
  int hw, hlw, bad;
  if ((hw = cell_cg_get_int(b, "weight", F, 0, &w, err)) < 0) return -1;
  if ((hlw = cell_cg_get_int(b, "leafWeight", F, 0, &lw, err)) < 0) return -1;
  if (hw == 1 && w != 0 && (w < 10 || w > 1000))
    return cell_error(err, 0, "%s.weight: %lld is out of range 10-1000", F, w);
  if (hlw == 1 && lw != 0 && (lw < 10 || lw > 1000))
    return cell_error(err, 0, "%s.leafWeight: %lld is out of range 10-1000", F, lw);
  if (hw == 1 && w && drv->blkio_weight(p, F ".weight", -1, -1, w, err) < 0) return -1;
  if (hlw == 1 && lw && drv->blkio_leaf_weight(p, F ".leafWeight", -1, -1, lw, err) < 0) return -1;
  const cJSON *wd = get_obj(b, "weightDevice", F, true, err, &bad), *e;
  if (bad) return -1;
  size_t i = 0;
  cJSON_ArrayForEach(e, wd) {
    char f[128];
    long long maj, min, dw = 0, dlw = 0;
    snprintf(f, sizeof f, "%s.weightDevice[%zu]", F, i++);
    if (dev_entry(e, f, &maj, &min, err) < 0) return -1;
    int a = cell_cg_get_int(e, "weight", f, 0, &dw, err), c = cell_cg_get_int(e, "leafWeight", f, 0, &dlw, err);
    if (a < 0 || c < 0) return -1;
    if ((a == 1 && (dw < 10 || dw > 1000)) || (c == 1 && (dlw < 10 || dlw > 1000)))
      return cell_error(err, 0, "%s: weight out of range 10-1000", f);
    if (a == 1 && drv->blkio_weight(p, f, maj, min, dw, err) < 0) return -1;
    if (c == 1 && drv->blkio_leaf_weight(p, f, maj, min, dlw, err) < 0) return -1;
  }
  return render_blkio_throttle(b, drv, p, err);
}

static bool valid_pagesize(const char *s) {
  size_t d = strspn(s, "0123456789");
  return d > 0 && (strcmp(s + d, "KB") == 0 || strcmp(s + d, "MB") == 0 || strcmp(s + d, "GB") == 0);
}

static int render_hugetlb(const cJSON *arr, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                          struct cell_err *err) {
  const cJSON *e;
  size_t i = 0;
  cJSON_ArrayForEach(e, arr) {
    char f[96];
    const char *ps = NULL;
    long long lim;
    snprintf(f, sizeof f, R ".hugepageLimits[%zu]", i++);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (cell_cg_get_str(e, "pageSize", f, &ps, err) != 1)
      return err->msg[0] ? -1 : cell_error(err, 0, "%s.pageSize: required", f);
    if (!valid_pagesize(ps)) return cell_error(err, 0, "%s.pageSize: \"%s\" is not like \"2MB\"", f, ps);
    int r = cell_cg_get_int(e, "limit", f, 0, &lim, err);
    if (r < 0) return -1;
    if (r == 0) return cell_error(err, 0, "%s.limit: required", f);
    if (drv->hugetlb(p, f, ps, lim, err) < 0) return -1;
  }
  return 0;
}

static int render_rdma(const cJSON *obj, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                       struct cell_err *err) {
  const cJSON *e;
  cJSON_ArrayForEach(e, obj) {
    char f[160];
    snprintf(f, sizeof f, R ".rdma.%s", e->string);
    if (!cJSON_IsObject(e)) return cell_error(err, 0, "%s: must be an object", f);
    if (strpbrk(e->string, " \n/=") || !*e->string) return cell_error(err, 0, "%s: invalid device name", f);
    long long h = 0, o = 0;
    int hh = cell_cg_get_int(e, "hcaHandles", f, 0, &h, err), ho = cell_cg_get_int(e, "hcaObjects", f, 0, &o, err);
    if (hh < 0 || ho < 0) return -1;
    if (!hh && !ho) continue;
    char v[200];
    int n = snprintf(v, sizeof v, "%s", e->string);
    if (hh) n += snprintf(v + n, sizeof v - (size_t)n, " hca_handle=%lld", h);
    if (ho) snprintf(v + n, sizeof v - (size_t)n, " hca_object=%lld", o);
    if (cell_cg_add(p, err, drv->hier("rdma"), "rdma.max", f, true, "%s", v) < 0) return -1;
  }
  return 0;
}

static int render_network(const cJSON *n, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                          struct cell_err *err) {
  long long cls;
  int bad, r = cell_cg_get_int(n, "classID", R ".network", 0, &cls, err);
  if (r < 0) return -1;
  const cJSON *pr = get_obj(n, "priorities", R ".network", true, err, &bad);
  if (bad) return -1;
  return drv->network(pr, r, cls, p, err);
}

static int render_pids(const cJSON *o, const struct cell_cg_driver *drv, struct cell_cg_plan *p,
                       struct cell_err *err) {
  long long lim;
  int r = cell_cg_get_int(o, "limit", R ".pids", -1 - INT64_MAX, &lim, err);
  if (r < 0) return -1;
  if (r == 1 && lim != 0) {
    if (lim < 0 ? cell_cg_add(p, err, drv->hier("pids"), "pids.max", R ".pids.limit", false, "max")
                : cell_cg_add(p, err, drv->hier("pids"), "pids.max", R ".pids.limit", false, "%lld", lim))
      return -1;
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
    if (cell_cg_add(p, err, "", k, f, false, "%s", e->valuestring) < 0) return -1;
  }
  return 0;
}

int cell_cg_render(const cJSON *res, const struct cell_cg_driver *drv, const char *enabled, struct cell_cg_plan *p,
                   struct cell_err *err) {
  memset(p, 0, sizeof *p);
  err->msg[0] = 0;
  if (!res || cJSON_IsNull(res)) return 0;
  if (!cJSON_IsObject(res)) return cell_error(err, 0, R ": must be an object");
  int bad;
  const cJSON *o;
#define SECTION(key, arr, fn)                                          \
  o = get_obj(res, key, R, arr, err, &bad);                            \
  if (bad || (o && fn(o, drv, p, err) < 0)) goto fail;
  SECTION("memory", false, render_memory)
  SECTION("cpu", false, render_cpu)
  SECTION("pids", false, render_pids)
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
    if (drv->devices(p, err) < 0) goto fail;
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

static cell_cg_warn_fn warn_fn;

void cell_cg_set_warn(cell_cg_warn_fn fn) { warn_fn = fn; }

static int render_for(struct cell_cgroup *cg, const cJSON *res, struct cell_cg_plan *p, struct cell_err *err) {
  char *enabled = NULL;
  const struct cell_cg_hier *u = cell_cg_hier_for(cg, "");
  if (u) {
    char path[4200];
    snprintf(path, sizeof path, "%s/cgroup.controllers", u->path);
    if (cell_cg_read(path, &enabled, err) < 0) return -1;
  }
  int r = cell_cg_render(res, cell_cg_drv(cg), enabled, p, err);
  free(enabled);
  if (r == 0 && p->warnings[0] && warn_fn) warn_fn(p->warnings);
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
    const struct cell_cg_driver *drv = cell_cg_drv(cg);
    const char *dir = cell_cg_path(cg, drv->hier("memory"));
    char path[4200], *s = NULL;
    if (!dir) {
      cell_cg_plan_free(&p);
      return cell_error(err, 0, R ".memory.checkBeforeUpdate: no memory hierarchy");
    }
    snprintf(path, sizeof path, "%s/%s", dir, drv->mem_usage_file);
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
