/* stats.c - runc-compatible `events --stats` data from cgroup files.
 * Missing files are skipped (a controller may be absent); "max" reads as
 * 18446744073709551615 as runc reports it.  Integers are emitted as raw JSON
 * numbers so 64-bit values stay exact. */
#include "cgroups/cgroup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U64MAX 18446744073709551615ULL

static char *slurp(const char *dir, const char *file) {
  if (!dir) return NULL;
  char p[4200], *s = NULL;
  struct cell_err e;
  snprintf(p, sizeof p, "%s/%s", dir, file);
  if (cell_cg_read(p, &s, &e) < 0) return NULL;
  return s;
}

static unsigned long long parse_u64(const char *s) {
  while (*s == ' ') s++;
  if (strncmp(s, "max", 3) == 0) return U64MAX;
  if (*s == '-') return 0; /* v1 "-1" never appears in stats files */
  return strtoull(s, NULL, 10);
}

/* Single-value file; returns false if missing. */
static bool read_u64(const char *dir, const char *file, unsigned long long *v) {
  char *s = slurp(dir, file);
  if (!s) return false;
  *v = parse_u64(s);
  free(s);
  return true;
}

/* "key value" line in a flat-keyed file. */
static bool keyed_u64(const char *text, const char *key, unsigned long long *v) {
  size_t kl = strlen(key);
  for (const char *l = text; l && *l;) {
    if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
      *v = parse_u64(l + kl + 1);
      return true;
    }
    l = strchr(l, '\n');
    if (l) l++;
  }
  return false;
}

static void put(cJSON *o, const char *k, unsigned long long v) {
  char b[32];
  snprintf(b, sizeof b, "%llu", v);
  cJSON_AddItemToObject(o, k, cJSON_CreateRaw(b));
}

static cJSON *obj(cJSON *parent, const char *k) {
  cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, k);
  return o ? o : cJSON_AddObjectToObject(parent, k);
}

static void raw_map(cJSON *o, const char *text) {
  cJSON *raw = cJSON_AddObjectToObject(o, "raw");
  for (const char *l = text; l && *l;) {
    char key[128];
    unsigned long long v;
    int n = 0;
    if (sscanf(l, "%127s %llu%n", key, &v, &n) == 2) put(raw, key, v);
    l = strchr(l, '\n');
    if (l) l++;
  }
}

static void blk_entry(cJSON *arr, unsigned maj, unsigned min, const char *op, unsigned long long v) {
  cJSON *e = cJSON_CreateObject();
  put(e, "major", maj);
  put(e, "minor", min);
  cJSON_AddStringToObject(e, "op", op);
  put(e, "value", v);
  cJSON_AddItemToArray(arr, e);
}

static cJSON *arr_of(cJSON *o, const char *k) {
  cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
  return a ? a : cJSON_AddArrayToObject(o, k);
}

/* One hugetlb.<size> entry: the per-version fields besides "usage". */
typedef void (*hugetlb_fields_fn)(const char *dir, const char *size, cJSON *e);

static void hugetlb_fields_v2(const char *dir, const char *size, cJSON *e) {
  char f[128], *ev;
  unsigned long long v;
  snprintf(f, sizeof f, "hugetlb.%s.events", size);
  if ((ev = slurp(dir, f)) && keyed_u64(ev, "max", &v)) put(e, "failcnt", v);
  else put(e, "failcnt", 0);
  free(ev);
}

static void hugetlb_fields_v1(const char *dir, const char *size, cJSON *e) {
  char f[128];
  unsigned long long v;
  snprintf(f, sizeof f, "hugetlb.%s.max_usage_in_bytes", size);
  if (read_u64(dir, f, &v)) put(e, "max", v);
  snprintf(f, sizeof f, "hugetlb.%s.failcnt", size);
  put(e, "failcnt", read_u64(dir, f, &v) ? v : 0);
}

/* hugetlb.<size><usage_sfx> files in dir (v2 also has hugetlb.<size>.rsvd.*,
 * whose inner '.' makes them skipped) */
static void hugetlb_stats(const char *dir, const char *usage_sfx, hugetlb_fields_fn fields, cJSON *data) {
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) return;
  cJSON *h = obj(data, "hugetlb");
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    size_t l = strlen(n), sl = strlen(usage_sfx);
    if (strncmp(n, "hugetlb.", 8) != 0 || l <= 8 + sl || strcmp(n + l - sl, usage_sfx) != 0) continue;
    if (strstr(n, ".rsvd.")) continue;
    char size[32];
    snprintf(size, sizeof size, "%.*s", (int)(l - 8 - sl), n + 8);
    if (strchr(size, '.')) continue;
    cJSON *e = cJSON_AddObjectToObject(h, size);
    unsigned long long v;
    if (read_u64(dir, n, &v)) put(e, "usage", v);
    fields(dir, size, e);
  }
  closedir(d);
}

int cell_cg_stats_v2(const char *dir, cJSON *data, struct cell_err *err) {
  (void)err;
  unsigned long long v, w;
  char *s;
  /* cpu */
  if ((s = slurp(dir, "cpu.stat"))) {
    cJSON *cpu = obj(data, "cpu"), *u = obj(cpu, "usage"), *t = obj(cpu, "throttling");
    if (keyed_u64(s, "usage_usec", &v)) put(u, "total", v * 1000);
    if (keyed_u64(s, "system_usec", &v)) put(u, "kernel", v * 1000);
    if (keyed_u64(s, "user_usec", &v)) put(u, "user", v * 1000);
    if (keyed_u64(s, "nr_periods", &v)) put(t, "periods", v);
    if (keyed_u64(s, "nr_throttled", &v)) put(t, "throttledPeriods", v);
    if (keyed_u64(s, "throttled_usec", &v)) put(t, "throttledTime", v * 1000);
    free(s);
  }
  /* memory */
  if (read_u64(dir, "memory.current", &v)) {
    cJSON *m = obj(data, "memory"), *u = obj(m, "usage");
    put(u, "usage", v);
    put(u, "limit", read_u64(dir, "memory.max", &w) ? w : U64MAX);
    if (read_u64(dir, "memory.peak", &w)) put(u, "max", w);
    char *ev = slurp(dir, "memory.events");
    put(u, "failcnt", ev && keyed_u64(ev, "max", &w) ? w : 0);
    free(ev);
    unsigned long long sc, sm;
    if (read_u64(dir, "memory.swap.current", &sc)) {
      /* reported as memory+swap, like v1 memsw */
      cJSON *sw = obj(m, "swap_usage");
      put(sw, "usage", sc + v);
      unsigned long long lim = read_u64(dir, "memory.max", &w) ? w : U64MAX;
      sm = read_u64(dir, "memory.swap.max", &sm) ? sm : U64MAX;
      put(sw, "limit", (lim == U64MAX || sm == U64MAX) ? U64MAX : lim + sm);
      put(sw, "failcnt", 0);
    }
    if ((s = slurp(dir, "memory.stat"))) {
      if (keyed_u64(s, "file", &w)) put(m, "cache", w);
      raw_map(m, s);
      free(s);
    }
  }
  /* pids */
  if (read_u64(dir, "pids.current", &v)) {
    cJSON *p = obj(data, "pids");
    put(p, "current", v);
    put(p, "limit", read_u64(dir, "pids.max", &w) ? w : U64MAX);
  }
  /* io */
  if ((s = slurp(dir, "io.stat"))) {
    cJSON *b = obj(data, "blkio");
    cJSON *bytes = arr_of(b, "ioServiceBytesRecursive"), *ios = arr_of(b, "ioServicedRecursive");
    for (const char *l = s; l && *l;) {
      unsigned maj, min;
      int n = 0;
      if (sscanf(l, "%u:%u%n", &maj, &min, &n) == 2) {
        const char *rest = l + n;
        const char *nl = strchr(rest, '\n');
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(nl ? nl - rest : (long)strlen(rest)), rest);
        static const struct {
          const char *k, *op;
          int bytes;
        } map[] = {{"rbytes", "Read", 1}, {"wbytes", "Write", 1}, {"dbytes", "Discard", 1},
                   {"rios", "Read", 0},   {"wios", "Write", 0},   {"dios", "Discard", 0}};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
          char pat[16];
          snprintf(pat, sizeof pat, " %s=", map[i].k);
          const char *q = strstr(line, pat);
          if (q) blk_entry(map[i].bytes ? bytes : ios, maj, min, map[i].op, strtoull(q + strlen(pat), NULL, 10));
        }
      }
      l = strchr(l, '\n');
      if (l) l++;
    }
    free(s);
  }
  hugetlb_stats(dir, ".current", hugetlb_fields_v2, data);
  return 0;
}

static void v1_entry(cJSON *m, const char *name, const char *dir, const char *prefix) {
  char f[128];
  unsigned long long v;
  snprintf(f, sizeof f, "%s.usage_in_bytes", prefix);
  if (!read_u64(dir, f, &v)) return;
  cJSON *e = obj(m, name);
  put(e, "usage", v);
  snprintf(f, sizeof f, "%s.max_usage_in_bytes", prefix);
  if (read_u64(dir, f, &v)) put(e, "max", v);
  snprintf(f, sizeof f, "%s.limit_in_bytes", prefix);
  if (read_u64(dir, f, &v)) put(e, "limit", v);
  snprintf(f, sizeof f, "%s.failcnt", prefix);
  put(e, "failcnt", read_u64(dir, f, &v) ? v : 0);
}

static void blkio_v1(cJSON *b, const char *dir, const char *file, const char *key) {
  char *s = slurp(dir, file);
  if (!s) return;
  cJSON *a = NULL;
  for (const char *l = s; l && *l;) {
    unsigned maj, min;
    char op[32];
    unsigned long long v;
    if (sscanf(l, "%u:%u %31s %llu", &maj, &min, op, &v) == 4) {
      if (!a) a = arr_of(b, key);
      blk_entry(a, maj, min, op, v);
    }
    l = strchr(l, '\n');
    if (l) l++;
  }
  free(s);
}

int cell_cg_stats_v1(const char *memory, const char *cpu, const char *cpuacct, const char *pids, const char *blkio,
                     const char *hugetlb, cJSON *data, struct cell_err *err) {
  (void)err;
  unsigned long long v;
  char *s;
  if (cpuacct && read_u64(cpuacct, "cpuacct.usage", &v)) {
    cJSON *u = obj(obj(data, "cpu"), "usage");
    put(u, "total", v);
    if ((s = slurp(cpuacct, "cpuacct.usage_percpu"))) {
      cJSON *a = cJSON_AddArrayToObject(u, "percpu");
      char *t = s, *end;
      for (;;) {
        unsigned long long x = strtoull(t, &end, 10);
        if (end == t) break;
        char b[32];
        snprintf(b, sizeof b, "%llu", x);
        cJSON_AddItemToArray(a, cJSON_CreateRaw(b));
        t = end;
      }
      free(s);
    }
    if ((s = slurp(cpuacct, "cpuacct.stat"))) {
      /* USER_HZ ticks -> ns */
      long hz = 100;
      if (keyed_u64(s, "user", &v)) put(u, "user", v * (1000000000ULL / (unsigned long long)hz));
      if (keyed_u64(s, "system", &v)) put(u, "kernel", v * (1000000000ULL / (unsigned long long)hz));
      free(s);
    }
  }
  if (cpu && (s = slurp(cpu, "cpu.stat"))) {
    cJSON *t = obj(obj(data, "cpu"), "throttling");
    if (keyed_u64(s, "nr_periods", &v)) put(t, "periods", v);
    if (keyed_u64(s, "nr_throttled", &v)) put(t, "throttledPeriods", v);
    if (keyed_u64(s, "throttled_time", &v)) put(t, "throttledTime", v);
    free(s);
  }
  if (memory && read_u64(memory, "memory.usage_in_bytes", &v)) {
    cJSON *m = obj(data, "memory");
    v1_entry(m, "usage", memory, "memory");
    v1_entry(m, "swap_usage", memory, "memory.memsw");
    v1_entry(m, "kernel_usage", memory, "memory.kmem");
    v1_entry(m, "kernel_tcp_usage", memory, "memory.kmem.tcp");
    if ((s = slurp(memory, "memory.stat"))) {
      if (keyed_u64(s, "cache", &v)) put(m, "cache", v);
      raw_map(m, s);
      free(s);
    }
  }
  if (pids && read_u64(pids, "pids.current", &v)) {
    cJSON *p = obj(data, "pids");
    put(p, "current", v);
    put(p, "limit", read_u64(pids, "pids.max", &v) ? v : U64MAX);
  }
  if (blkio) {
    cJSON *b = obj(data, "blkio");
    char *probe = slurp(blkio, "blkio.io_service_bytes_recursive");
    bool cfq = probe && strchr(probe, ':');
    free(probe);
    if (cfq) {
      blkio_v1(b, blkio, "blkio.io_service_bytes_recursive", "ioServiceBytesRecursive");
      blkio_v1(b, blkio, "blkio.io_serviced_recursive", "ioServicedRecursive");
      blkio_v1(b, blkio, "blkio.io_queued_recursive", "ioQueueRecursive");
      blkio_v1(b, blkio, "blkio.io_service_time_recursive", "ioServiceTimeRecursive");
      blkio_v1(b, blkio, "blkio.io_wait_time_recursive", "ioWaitTimeRecursive");
      blkio_v1(b, blkio, "blkio.io_merged_recursive", "ioMergedRecursive");
      blkio_v1(b, blkio, "blkio.time_recursive", "ioTimeRecursive");
      blkio_v1(b, blkio, "blkio.sectors_recursive", "sectorsRecursive");
    } else {
      blkio_v1(b, blkio, "blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive");
      blkio_v1(b, blkio, "blkio.throttle.io_serviced_recursive", "ioServicedRecursive");
    }
  }
  hugetlb_stats(hugetlb, ".usage_in_bytes", hugetlb_fields_v1, data);
  return 0;
}

int cell_cg_stats(const struct cell_cgroup *cg, cJSON **out, struct cell_err *err) {
  cJSON *data = cJSON_CreateObject();
  if (!data) return cell_error(err, ENOMEM, "collecting cgroup stats");
  if (cell_cg_drv(cg)->stats(cg, data, err) < 0) {
    cJSON_Delete(data);
    return -1;
  }
  *out = data;
  return 0;
}

int cell_cg_oom_kill_count(const struct cell_cgroup *cg, unsigned long long *out, struct cell_err *err) {
  const struct cell_cg_driver *drv = cell_cg_drv(cg);
  const char *dir = cell_cg_path(cg, drv->hier("memory"));
  if (!dir) return cell_error(err, ENOENT, "oom kill count: no memory cgroup");
  char p[4200], *s = NULL;
  snprintf(p, sizeof p, "%s/%s", dir, drv->oom_events_file);
  if (cell_cg_read(p, &s, err) < 0) return -1;
  bool ok = keyed_u64(s, "oom_kill", out);
  free(s);
  if (!ok) return cell_error(err, 0, "oom kill count: no oom_kill key in %s", p);
  return 0;
}
