/* render.c - parsers of cgroup files and pure renderers of the views. */
#include "fsview/render.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffer */

void fsv_buf_reset(struct fsv_buf *b) {
  b->len = 0;
  b->oom = 0;
  if (b->p) b->p[0] = '\0';
}

void fsv_buf_free(struct fsv_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int fsv_buf_reserve(struct fsv_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void fsv_buf_add(struct fsv_buf *b, const char *s, size_t n) {
  if (fsv_buf_reserve(b, n) < 0) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

struct fsv_text *fsv_text_new(const char *p, size_t len) {
  struct fsv_text *t = malloc(sizeof(*t) + len + 1);
  if (!t) return NULL;
  t->refs = 1;
  t->stamp = 0;
  t->init_start = 0;
  t->len = len;
  if (len) memcpy(t->p, p, len);
  t->p[len] = '\0';
  return t;
}

struct fsv_text *fsv_text_ref(struct fsv_text *t) {
  if (t) __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
  return t;
}

void fsv_text_put(struct fsv_text *t) {
  if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) free(t);
}

void fsv_buf_printf(struct fsv_buf *b, const char *fmt, ...) {
  va_list ap;
  for (int i = 0; i < 2; i++) {
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    if (fsv_buf_reserve(b, (size_t)n) < 0) return;
  }
}

/* ---------------------------------------------------------------- helpers */

void fsv_mem_init(struct fsv_mem *m) {
  memset(m, 0, sizeof(*m));
  m->limit = m->swap_limit = m->memsw_limit = FSV_UNLIMITED;
}

void fsv_cpu_init(struct fsv_cpu *c) {
  memset(c->cpuset, 0, sizeof(c->cpuset));
  c->quota_us = -1;
  c->period_us = 100000;
  c->have_percpu = 0;
  c->total_user_ns = c->total_system_ns = 0;
  /* user_ns/system_ns are only read when have_percpu is set */
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Iterate "key value" lines: calls fn for each line with key and the rest. */
typedef void (*kv_fn)(const char *key, size_t klen, const char *val, void *ctx);

static void each_kv(const char *text, kv_fn fn, void *ctx) {
  const char *p = text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    if (!eol) eol = p + strlen(p);
    const char *k = p;
    while (k < eol && (*k == ' ' || *k == '\t')) k++;
    const char *ke = k;
    while (ke < eol && *ke != ' ' && *ke != '\t' && *ke != ':') ke++;
    const char *v = ke;
    while (v < eol && (*v == ' ' || *v == '\t' || *v == ':')) v++;
    if (ke > k) fn(k, (size_t)(ke - k), v, ctx);
    p = *eol ? eol + 1 : eol;
  }
}

static int key_is(const char *k, size_t n, const char *want) {
  return strlen(want) == n && memcmp(k, want, n) == 0;
}

int fsv_field_u64(const char *text, const char *key, uint64_t *out) {
  size_t kl = strlen(key);
  const char *p = text;
  while (p && *p) {
    if (strncmp(p, key, kl) == 0 && (p[kl] == ':' || p[kl] == ' ' || p[kl] == '\t')) {
      const char *v = p + kl;
      while (*v == ':' || *v == ' ' || *v == '\t') v++;
      char *end;
      errno = 0;
      unsigned long long x = strtoull(v, &end, 10);
      if (end == v || errno) return -1;
      *out = x;
      return 0;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

int fsv_parse_u64_max(const char *text, uint64_t *out) {
  while (*text == ' ') text++;
  if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n' || text[3] == ' ')) {
    *out = FSV_UNLIMITED;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long long x = strtoull(text, &end, 10);
  if (end == text || errno || (*end != '\0' && *end != '\n' && *end != ' ')) return -1;
  *out = x;
  return 0;
}

int fsv_parse_cpulist(const char *text, uint64_t *bitmap) {
  memset(bitmap, 0, FSV_MAXCPU / 8);
  const char *p = text;
  int any = 0;
  while (*p && *p != '\n') {
    char *end;
    long a = strtol(p, &end, 10);
    if (end == p || a < 0) return -1;
    long b = a;
    p = end;
    if (*p == '-') {
      p++;
      b = strtol(p, &end, 10);
      if (end == p || b < a) return -1;
      p = end;
    }
    for (long i = a; i <= b && i < FSV_MAXCPU; i++) bitmap[i / 64] |= 1ULL << (i % 64);
    any = 1;
    if (*p == ',') p++;
    else if (*p && *p != '\n') return -1;
  }
  return any ? 0 : -1;
}

int fsv_cpulist_count(const uint64_t *bitmap) {
  int n = 0;
  for (int i = 0; i < FSV_MAXCPU / 64; i++) n += __builtin_popcountll(bitmap[i]);
  return n;
}

/* ---------------------------------------------------------------- memory */

static uint64_t kv_u64(const char *v) { return strtoull(v, NULL, 10); }

static void memstat_v1_kv(const char *k, size_t n, const char *v, void *ctx) {
  struct fsv_mem *m = ctx;
  if (n > 6 && memcmp(k, "total_", 6) == 0) {
    k += 6;
    n -= 6;
    uint64_t x = kv_u64(v);
    if (key_is(k, n, "cache")) m->file = x;
    else if (key_is(k, n, "rss")) m->anon = x;
    else if (key_is(k, n, "shmem")) m->shmem = x;
    else if (key_is(k, n, "mapped_file")) m->mapped = x;
    else if (key_is(k, n, "dirty")) m->dirty = x;
    else if (key_is(k, n, "writeback")) m->writeback = x;
    else if (key_is(k, n, "swap")) m->swap_usage = x;
    else if (key_is(k, n, "swapcached")) m->swapcached = x;
    else if (key_is(k, n, "active_anon")) m->active_anon = x;
    else if (key_is(k, n, "inactive_anon")) m->inactive_anon = x;
    else if (key_is(k, n, "active_file")) m->active_file = x;
    else if (key_is(k, n, "inactive_file")) m->inactive_file = x;
    else if (key_is(k, n, "unevictable")) m->unevictable = x;
  } else if (key_is(k, n, "hierarchical_memory_limit")) {
    m->limit = min_u64(m->limit, kv_u64(v));
  } else if (key_is(k, n, "hierarchical_memsw_limit")) {
    m->memsw_limit = min_u64(m->memsw_limit, kv_u64(v));
  }
}

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages, e.g. 9223372036854771712 */
static uint64_t v1_unlimited(uint64_t x) {
  return x >= (1ULL << 62) ? FSV_UNLIMITED : x;
}

int fsv_parse_memstat_v1(const char *text, struct fsv_mem *m) {
  if (!strstr(text, "total_rss")) return -1;
  each_kv(text, memstat_v1_kv, m);
  m->limit = v1_unlimited(m->limit);
  m->memsw_limit = v1_unlimited(m->memsw_limit);
  return 0;
}

static void memstat_v2_kv(const char *k, size_t n, const char *v, void *ctx) {
  struct fsv_mem *m = ctx;
  uint64_t x = kv_u64(v);
  if (key_is(k, n, "anon")) m->anon = x;
  else if (key_is(k, n, "file")) m->file = x;
  else if (key_is(k, n, "shmem")) m->shmem = x;
  else if (key_is(k, n, "file_mapped")) m->mapped = x;
  else if (key_is(k, n, "file_dirty")) m->dirty = x;
  else if (key_is(k, n, "file_writeback")) m->writeback = x;
  else if (key_is(k, n, "swapcached")) m->swapcached = x;
  else if (key_is(k, n, "active_anon")) m->active_anon = x;
  else if (key_is(k, n, "inactive_anon")) m->inactive_anon = x;
  else if (key_is(k, n, "active_file")) m->active_file = x;
  else if (key_is(k, n, "inactive_file")) m->inactive_file = x;
  else if (key_is(k, n, "unevictable")) m->unevictable = x;
  else if (key_is(k, n, "slab_reclaimable")) m->slab_reclaimable = x;
  else if (key_is(k, n, "slab_unreclaimable")) m->slab_unreclaimable = x;
  else if (key_is(k, n, "kernel_stack")) m->kernel_stack = x;
  else if (key_is(k, n, "pagetables")) m->pagetables = x;
}

int fsv_parse_memstat_v2(const char *text, struct fsv_mem *m) {
  if (!strstr(text, "anon ")) return -1;
  each_kv(text, memstat_v2_kv, m);
  return 0;
}

/* ---------------------------------------------------------------- cpu */

int fsv_parse_cpu_max(const char *text, int64_t *quota, uint64_t *period) {
  uint64_t q, p = 100000;
  if (fsv_parse_u64_max(text, &q) < 0) return -1;
  const char *sp = strchr(text, ' ');
  if (sp) {
    char *end;
    p = strtoull(sp + 1, &end, 10);
    if (end == sp + 1 || p == 0) return -1;
  }
  *quota = q == FSV_UNLIMITED ? -1 : (int64_t)q;
  *period = p;
  return 0;
}

void fsv_cpu_tighten(int64_t *quota, uint64_t *period, int64_t q2, uint64_t p2) {
  if (q2 < 0 || p2 == 0) return;
  if (*quota < 0 || (double)q2 / (double)p2 < (double)*quota / (double)*period) {
    *quota = q2;
    *period = p2;
  }
}

int fsv_parse_usage_all(const char *text, struct fsv_cpu *c) {
  const char *p = strchr(text, '\n'); /* skip "cpu user system" */
  if (!p || strncmp(text, "cpu", 3) != 0) return -1;
  p++;
  c->have_percpu = 1;
  c->total_user_ns = c->total_system_ns = 0;
  memset(c->user_ns, 0, sizeof(c->user_ns));
  memset(c->system_ns, 0, sizeof(c->system_ns));
  while (*p) {
    char *end;
    unsigned long cpu = strtoul(p, &end, 10);
    if (end == p) break;
    unsigned long long u = strtoull(end, &end, 10);
    unsigned long long s = strtoull(end, &end, 10);
    if (cpu < FSV_MAXCPU) {
      c->user_ns[cpu] = u;
      c->system_ns[cpu] = s;
    }
    c->total_user_ns += u;
    c->total_system_ns += s;
    p = strchr(end, '\n');
    if (!p) break;
    p++;
  }
  return 0;
}

int fsv_parse_cpu_stat_v2(const char *text, struct fsv_cpu *c) {
  uint64_t u, s;
  if (fsv_field_u64(text, "user_usec", &u) < 0 || fsv_field_u64(text, "system_usec", &s) < 0)
    return -1;
  c->have_percpu = 0;
  c->total_user_ns = u * 1000;
  c->total_system_ns = s * 1000;
  return 0;
}

int fsv_parse_cpuacct_stat(const char *text, struct fsv_cpu *c, long hz) {
  uint64_t u, s;
  if (hz <= 0 || fsv_field_u64(text, "user", &u) < 0 || fsv_field_u64(text, "system", &s) < 0)
    return -1;
  c->have_percpu = 0;
  c->total_user_ns = u * (1000000000ULL / (uint64_t)hz);
  c->total_system_ns = s * (1000000000ULL / (uint64_t)hz);
  return 0;
}

int fsv_visible_cpus(const struct fsv_cpu *c, int quota_view, int *ids, int max) {
  int n = 0;
  for (int i = 0; i < FSV_MAXCPU && n < max; i++)
    if (c->cpuset[i / 64] & (1ULL << (i % 64))) ids[n++] = i;
  if (n == 0) ids[n++] = 0;
  if (quota_view && c->quota_us > 0 && c->period_us > 0) {
    uint64_t k = ((uint64_t)c->quota_us + c->period_us - 1) / c->period_us;
    if (k < 1) k = 1;
    if (k < (uint64_t)n) n = (int)k;
  }
  return n;
}

uint64_t fsv_calc_load(uint64_t load, int idx, uint64_t active) {
  static const uint64_t exp_[3] = {1884, 2014, 2037};
  uint64_t e = exp_[idx];
  uint64_t a = active * FSV_FIXED_1;
  uint64_t newload = load * e + a * (FSV_FIXED_1 - e);
  if (a >= load) newload += FSV_FIXED_1 - 1;
  return newload / FSV_FIXED_1;
}

/* ---------------------------------------------------------------- io */

static struct fsv_dev *io_dev(struct fsv_io *io, unsigned maj, unsigned min) {
  for (int i = 0; i < io->n; i++)
    if (io->dev[i].major == maj && io->dev[i].minor == min) return &io->dev[i];
  if (io->n >= FSV_MAXDEV) return NULL;
  struct fsv_dev *d = &io->dev[io->n++];
  memset(d, 0, sizeof(*d));
  d->major = maj;
  d->minor = min;
  return d;
}

int fsv_parse_io_stat(const char *text, struct fsv_io *io) {
  const char *p = text;
  while (*p) {
    unsigned maj, min;
    int off = 0;
    if (sscanf(p, "%u:%u %n", &maj, &min, &off) != 2 || off == 0) return -1;
    struct fsv_dev *d = io_dev(io, maj, min);
    const char *q = p + off;
    const char *eol = strchr(q, '\n');
    if (!eol) eol = q + strlen(q);
    while (q < eol && d) {
      const char *eq = memchr(q, '=', (size_t)(eol - q));
      if (!eq) break;
      uint64_t v = strtoull(eq + 1, NULL, 10);
      size_t kl = (size_t)(eq - q);
      if (key_is(q, kl, "rbytes")) d->rbytes = v;
      else if (key_is(q, kl, "wbytes")) d->wbytes = v;
      else if (key_is(q, kl, "rios")) d->rios = v;
      else if (key_is(q, kl, "wios")) d->wios = v;
      else if (key_is(q, kl, "dbytes")) d->dbytes = v;
      else if (key_is(q, kl, "dios")) d->dios = v;
      q = memchr(eq, ' ', (size_t)(eol - eq));
      if (!q) break;
      q++;
    }
    p = *eol ? eol + 1 : eol;
  }
  return 0;
}

int fsv_parse_blkio(const char *text, struct fsv_io *io, int ios) {
  const char *p = text;
  while (*p) {
    unsigned maj, min;
    char op[16];
    unsigned long long v;
    const char *eol = strchr(p, '\n');
    if (sscanf(p, "%u:%u %15s %llu", &maj, &min, op, &v) == 4) {
      struct fsv_dev *d = io_dev(io, maj, min);
      if (d) {
        if (strcmp(op, "Read") == 0) *(ios ? &d->rios : &d->rbytes) = v;
        else if (strcmp(op, "Write") == 0) *(ios ? &d->wios : &d->wbytes) = v;
        else if (strcmp(op, "Discard") == 0) *(ios ? &d->dios : &d->dbytes) = v;
      }
    } else if (strncmp(p, "Total", 5) != 0 && *p != '\n') {
      return -1;
    }
    if (!eol) break;
    p = eol + 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- meminfo */

struct meminfo_vals {
  uint64_t total, free, avail, buffers, cached, swapcached, active, inactive, aanon,
      ianon, afile, ifile, unevict, swtotal, swfree, dirty, writeback, anon,
      mapped, shmem, slab, srec, sunrec, kstack, ptables;
};

static void compute_meminfo(const char *host, const struct fsv_mem *m,
                            struct meminfo_vals *v) {
  uint64_t htotal = 0, hswap = 0;
  fsv_field_u64(host, "MemTotal", &htotal);
  fsv_field_u64(host, "SwapTotal", &hswap);
  memset(v, 0, sizeof(*v));
  v->total = m->limit == FSV_UNLIMITED ? htotal : min_u64(m->limit / 1024, htotal);
  uint64_t used = min_u64(m->usage / 1024, v->total);
  v->free = v->total - used;
  v->avail = min_u64(v->free + (m->active_file + m->inactive_file + m->slab_reclaimable) / 1024,
                     v->total);
  v->cached = m->file / 1024;
  v->swapcached = m->swapcached / 1024;
  v->aanon = m->active_anon / 1024;
  v->ianon = m->inactive_anon / 1024;
  v->afile = m->active_file / 1024;
  v->ifile = m->inactive_file / 1024;
  v->active = v->aanon + v->afile;
  v->inactive = v->ianon + v->ifile;
  v->unevict = m->unevictable / 1024;
  if (hswap) {
    v->swtotal = m->swap_limit == FSV_UNLIMITED ? hswap : min_u64(m->swap_limit / 1024, hswap);
    v->swfree = v->swtotal - min_u64(m->swap_usage / 1024, v->swtotal);
  }
  v->dirty = m->dirty / 1024;
  v->writeback = m->writeback / 1024;
  v->anon = m->anon / 1024;
  v->mapped = m->mapped / 1024;
  v->shmem = m->shmem / 1024;
  v->srec = m->slab_reclaimable / 1024;
  v->sunrec = m->slab_unreclaimable / 1024;
  v->slab = v->srec + v->sunrec;
  v->kstack = m->kernel_stack / 1024;
  v->ptables = m->pagetables / 1024;
}

static const struct {
  const char *key;
  size_t off;
} meminfo_keys[] = {
#define MK(k, f) {k, offsetof(struct meminfo_vals, f)}
    MK("MemTotal", total),       MK("MemFree", free),          MK("MemAvailable", avail),
    MK("Buffers", buffers),
    MK("Cached", cached),        MK("SwapCached", swapcached), MK("Active", active),
    MK("Inactive", inactive),    MK("Active(anon)", aanon),    MK("Inactive(anon)", ianon),
    MK("Active(file)", afile),   MK("Inactive(file)", ifile),  MK("Unevictable", unevict),
    MK("SwapTotal", swtotal),    MK("SwapFree", swfree),       MK("Dirty", dirty),
    MK("Writeback", writeback),  MK("AnonPages", anon),        MK("Mapped", mapped),
    MK("Shmem", shmem),          MK("Slab", slab),             MK("SReclaimable", srec),
    MK("SUnreclaim", sunrec),    MK("KernelStack", kstack),    MK("PageTables", ptables),
#undef MK
};

void fsv_render_meminfo(const char *host, const struct fsv_mem *m, struct fsv_buf *out) {
  struct meminfo_vals v;
  compute_meminfo(host, m, &v);
  const char *p = host;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    int done = 0;
    if (colon) {
      size_t kl = (size_t)(colon - p);
      for (size_t i = 0; i < sizeof(meminfo_keys) / sizeof(meminfo_keys[0]); i++) {
        if (!key_is(p, kl, meminfo_keys[i].key)) continue;
        uint64_t val = *(const uint64_t *)((const char *)&v + meminfo_keys[i].off);
        char key[32];
        snprintf(key, sizeof(key), "%s:", meminfo_keys[i].key);
        fsv_buf_printf(out, "%-16s%8llu kB\n", key, (unsigned long long)val);
        done = 1;
        break;
      }
    }
    if (!done) {
      fsv_buf_add(out, p, len);
      fsv_buf_add(out, "\n", 1);
    }
    if (!eol) break;
    p = eol + 1;
  }
}

void fsv_render_swaps(const char *host_meminfo, const struct fsv_mem *m, struct fsv_buf *out) {
  struct meminfo_vals v;
  compute_meminfo(host_meminfo, m, &v);
  fsv_buf_printf(out, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
  if (v.swtotal)
    fsv_buf_printf(out, "none%*svirtual\t\t%llu\t\t%llu\t\t0\n", 36, "",
                   (unsigned long long)v.swtotal,
                   (unsigned long long)(v.swtotal - v.swfree));
}

/* ---------------------------------------------------------------- cpuinfo */

static int index_of(const int *ids, int n, int cpu) {
  for (int i = 0; i < n; i++)
    if (ids[i] == cpu) return i;
  return -1;
}

void fsv_render_cpuinfo(const char *host, const int *ids, int n, struct fsv_buf *out) {
  const char *p = host;
  while (*p) {
    /* one block: up to a blank line */
    const char *end = strstr(p, "\n\n");
    const char *next = end ? end + 2 : p + strlen(p);
    size_t blen = end ? (size_t)(end - p) + 2 : strlen(p);
    if (strncmp(p, "processor", 9) == 0) {
      const char *colon = strchr(p, ':');
      const char *eol = strchr(p, '\n');
      int cpu = colon ? atoi(colon + 1) : -1;
      int k = index_of(ids, n, cpu);
      if (k >= 0 && colon && eol && colon < eol) {
        fsv_buf_add(out, p, (size_t)(colon - p) + 1);
        fsv_buf_printf(out, " %d", k);
        fsv_buf_add(out, eol, blen - (size_t)(eol - p));
      }
    } else {
      fsv_buf_add(out, p, blen);
    }
    p = next;
  }
}

void fsv_render_cpulist(const int *ids, int n, struct fsv_buf *out) {
  (void)ids;
  if (n <= 1) fsv_buf_printf(out, "0\n");
  else fsv_buf_printf(out, "0-%d\n", n - 1);
}

/* ---------------------------------------------------------------- stat */

#define STAT_FIELDS 10

void fsv_render_stat(const char *host, const struct fsv_cpu *c, const int *ids, int n,
                     const struct fsv_tasks *t, struct fsv_buf *out) {
  const uint64_t ns_per_tick = 10000000ULL; /* USER_HZ 100 */
  uint64_t user[FSV_MAXCPU], sys[FSV_MAXCPU];
  memset(user, 0, sizeof(uint64_t) * (size_t)n);
  memset(sys, 0, sizeof(uint64_t) * (size_t)n);
  if (c->have_percpu) {
    int pos = 0; /* position among the cpuset's CPUs, for folding hidden ones */
    for (int cpu = 0; cpu < FSV_MAXCPU; cpu++) {
      int in_set = (c->cpuset[cpu / 64] >> (cpu % 64)) & 1;
      int k = index_of(ids, n, cpu);
      if (k < 0 && in_set) k = pos % n;
      if (in_set) pos++;
      if (k < 0) k = cpu % n; /* usage on CPUs the cgroup no longer has */
      user[k] += c->user_ns[cpu] / ns_per_tick;
      sys[k] += c->system_ns[cpu] / ns_per_tick;
    }
  } else {
    for (int k = 0; k < n; k++) {
      user[k] = c->total_user_ns / ns_per_tick / (uint64_t)n;
      sys[k] = c->total_system_ns / ns_per_tick / (uint64_t)n;
    }
  }
  /* host per-CPU totals give each visible CPU's elapsed ticks */
  uint64_t agg[STAT_FIELDS] = {0};
  struct fsv_buf *o = out;
  size_t agg_at = o->len;
  int wrote_cpus = 0;
  const char *p = host;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (strncmp(p, "cpu", 3) == 0) {
      if (!wrote_cpus) {
        wrote_cpus = 1;
        agg_at = o->len;
        /* the aggregate line is inserted at agg_at once the sums are known */
        for (int k = 0; k < n; k++) {
          uint64_t hv[STAT_FIELDS] = {0}, total = 0;
          char name[16];
          snprintf(name, sizeof(name), "cpu%d", ids[k]);
          const char *q = host;
          while ((q = strstr(q, name))) {
            if ((q == host || q[-1] == '\n') && (q[strlen(name)] == ' ')) break;
            q += strlen(name);
          }
          if (q) {
            const char *f = q + strlen(name);
            for (int i = 0; i < STAT_FIELDS; i++) {
              char *e;
              hv[i] = strtoull(f, &e, 10);
              f = e;
            }
          }
          for (int i = 0; i < STAT_FIELDS; i++) total += hv[i];
          uint64_t used = user[k] + sys[k];
          uint64_t idle = total > used ? total - used : 0;
          uint64_t v[STAT_FIELDS] = {user[k], 0, sys[k], idle, 0, 0, 0, 0, 0, 0};
          fsv_buf_printf(o, "cpu%d", k);
          for (int i = 0; i < STAT_FIELDS; i++) {
            fsv_buf_printf(o, " %llu", (unsigned long long)v[i]);
            agg[i] += v[i];
          }
          fsv_buf_add(o, "\n", 1);
        }
      }
    } else if (strncmp(p, "processes ", 10) == 0) {
      fsv_buf_printf(o, "processes %llu\n", (unsigned long long)t->nr_tasks);
    } else if (strncmp(p, "procs_running ", 14) == 0) {
      fsv_buf_printf(o, "procs_running %llu\n", (unsigned long long)t->nr_running);
    } else if (strncmp(p, "procs_blocked ", 14) == 0) {
      fsv_buf_printf(o, "procs_blocked %llu\n", (unsigned long long)t->nr_blocked);
    } else {
      fsv_buf_add(o, p, len);
      fsv_buf_add(o, "\n", 1);
    }
    if (!eol) break;
    p = eol + 1;
  }
  /* insert the aggregate line at agg_at */
  char line[256];
  int l = snprintf(line, sizeof(line), "cpu  %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
                   (unsigned long long)agg[0], (unsigned long long)agg[1],
                   (unsigned long long)agg[2], (unsigned long long)agg[3],
                   (unsigned long long)agg[4], (unsigned long long)agg[5],
                   (unsigned long long)agg[6], (unsigned long long)agg[7],
                   (unsigned long long)agg[8], (unsigned long long)agg[9]);
  if (l > 0 && fsv_buf_reserve(o, (size_t)l) == 0 && agg_at <= o->len) {
    memmove(o->p + agg_at + l, o->p + agg_at, o->len - agg_at + 1);
    memcpy(o->p + agg_at, line, (size_t)l);
    o->len += (size_t)l;
  }
}

/* ---------------------------------------------------------------- uptime */

void fsv_render_uptime(double host_uptime, double init_start, const struct fsv_cpu *c,
                       int ncpus, struct fsv_buf *out) {
  double up = host_uptime - init_start;
  if (up < 0) up = 0;
  double busy = (double)(c->total_user_ns + c->total_system_ns) / 1e9;
  double idle = up * ncpus - busy;
  if (idle < 0) idle = 0;
  fsv_buf_printf(out, "%.2f %.2f\n", up, idle);
}

void fsv_render_loadavg(const struct fsv_tasks *t, struct fsv_buf *out) {
  uint64_t v[3];
  for (int i = 0; i < 3; i++) v[i] = t->load[i] + FSV_FIXED_1 / 200;
#define LI(x) ((unsigned long long)((x) >> FSV_FSHIFT))
#define LF(x) LI(((x) & (FSV_FIXED_1 - 1)) * 100)
  fsv_buf_printf(out, "%llu.%02llu %llu.%02llu %llu.%02llu %llu/%llu %llu\n", LI(v[0]),
                 LF(v[0]), LI(v[1]), LF(v[1]), LI(v[2]), LF(v[2]),
                 (unsigned long long)t->nr_running, (unsigned long long)t->nr_tasks,
                 (unsigned long long)t->last_pid);
#undef LI
#undef LF
}

/* ---------------------------------------------------------------- diskstats */

void fsv_render_diskstats(const char *host, const struct fsv_io *io, struct fsv_buf *out) {
  const char *p = host;
  while (*p) {
    const char *eol = strchr(p, '\n');
    unsigned maj, min;
    char name[64];
    if (sscanf(p, "%u %u %63s", &maj, &min, name) == 3) {
      for (int i = 0; i < io->n; i++) {
        const struct fsv_dev *d = &io->dev[i];
        if (d->major != maj || d->minor != min) continue;
        fsv_buf_printf(out,
                       "%4u %7u %s %llu 0 %llu 0 %llu 0 %llu 0 0 0 0 %llu 0 %llu 0 0 0\n",
                       maj, min, name, (unsigned long long)d->rios,
                       (unsigned long long)(d->rbytes / 512), (unsigned long long)d->wios,
                       (unsigned long long)(d->wbytes / 512), (unsigned long long)d->dios,
                       (unsigned long long)(d->dbytes / 512));
        break;
      }
    }
    if (!eol) break;
    p = eol + 1;
  }
}
