/* test_views.c - the whole render path (mount discovery, pid resolution,
 * fd caches, collectors, ancestor walks, dispatch) on fixture cgroup trees:
 * tests/fixtures/fsview/v1 (cgroup v1 hierarchies) and v2 (unified). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsview/fs.h"
#include "unit.h"

static char fix[PATH_MAX];
static unsigned setup_cache_ms; /* render cache of the next setup(); 0 = none */
static unsigned setup_pid_ms = 1000; /* pid cache of the next setup() */

static const char *line_of(const char *text, const char *key) {
  static char out[512];
  const char *p = text;
  size_t kl = strlen(key);
  while (p && *p) {
    if (strncmp(p, key, kl) == 0) {
      const char *e = strchr(p, '\n');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      if (n >= sizeof(out)) n = sizeof(out) - 1;
      memcpy(out, p, n);
      out[n] = '\0';
      return out;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return "(missing)";
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  static char buf[1 << 16];
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  return strdup(buf);
}

/* write a mountinfo naming the fixture hierarchies */
static void write_mountinfo(const char *path, const char *tree) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  if (strcmp(tree, "v1") == 0) {
    const char *c[] = {"memory", "cpu", "cpuacct", "cpuset", "blkio"};
    for (int i = 0; i < 5; i++)
      fprintf(f, "%d 25 0:%d / %s/v1/cgroup/%s rw,nosuid - cgroup cgroup rw,%s\n", 30 + i,
              40 + i, fix, c[i], c[i]);
  } else {
    fprintf(f, "30 25 0:26 / %s/v2/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", fix);
  }
  fprintf(f, "22 1 0:21 / /proc rw - proc proc rw\n");
  fclose(f);
}

static int setup(struct fsv_ctx *c, const char *tree, int quota_view, char *mi) {
  char proc[PATH_MAX + 8];
  snprintf(mi, PATH_MAX, "/tmp/fsview-mountinfo-%s-%d", tree, (int)getpid());
  write_mountinfo(mi, tree);
  snprintf(proc, sizeof(proc), "%s/%s/proc", fix, tree);
  struct fsv_opts o = {.quota_view = quota_view, .pid_cache_ms = setup_pid_ms, .mountinfo = mi,
                       .proc = strdup(proc), .cache_ms = setup_cache_ms};
  struct cell_err err = {0};
  int rc = fsv_ctx_init(c, &o, &err);
  if (rc < 0) printf("# ctx init: %s\n", err.msg);
  return rc;
}

static const char *render(struct fsv_ctx *c, enum fsv_kind k, pid_t pid, struct fsv_tls *tls,
                          struct fsv_buf *out) {
  struct cell_err err = {0};
  if (fsv_render_for(c, k, pid, tls, out, &err) < 0) {
    printf("# render: %s\n", err.msg);
    return "(error)";
  }
  return out->p;
}

static void test_v1(void) {
  struct fsv_ctx c;
  char mi[PATH_MAX];
  struct fsv_tls tls = {0};
  struct fsv_buf out = {0};
  CHECK(setup(&c, "v1", 1, mi) == 0, "v1: context on fixture mounts");
  CHECK(c.host.mnt[R_MEM] && strstr(c.host.mnt[R_MEM], "v1/cgroup/memory") && !c.host.v2[R_MEM],
        "v1: memory hierarchy found in mountinfo");
  CHECK(c.host.mnt[R_UNIFIED] == NULL, "v1: no unified hierarchy");

  const char *t = render(&c, K_MEMINFO, 200, &tls, &out);
  CHECK_STR(line_of(t, "MemTotal:"), "MemTotal:         262144 kB", "v1 meminfo: MemTotal");
  CHECK_STR(line_of(t, "MemFree:"), "MemFree:          159744 kB", "v1 meminfo: MemFree");
  CHECK_STR(line_of(t, "SwapTotal:"), "SwapTotal:             0 kB",
            "v1 meminfo: host without swap");

  t = render(&c, K_CPUINFO, 200, &tls, &out);
  int nproc = 0;
  for (const char *p = t; (p = strstr(p, "processor\t:")); p++) nproc++;
  CHECK(nproc == 2, "v1 cpuinfo: cpuset 1-3 with quota 1.5 CPUs shows 2");
  CHECK_STR(render(&c, K_ONLINE, 200, &tls, &out), "0-1\n", "v1 cpu/online");
  t = render(&c, K_STAT, 200, &tls, &out);
  CHECK_STR(line_of(t, "cpu  "), "cpu  1000 0 500 17100 0 0 0 0 0 0", "v1 stat: aggregate");
  CHECK_STR(line_of(t, "processes"), "processes 2", "v1 stat: tasks of the cgroup");
  CHECK_STR(line_of(t, "procs_running"), "procs_running 1", "v1 stat: R tasks of the cgroup");
  CHECK_STR(render(&c, K_UPTIME, 200, &tls, &out), "1000.00 1985.00\n",
            "v1 uptime: host reader, idle over 2 CPUs minus 15 s busy");
  t = render(&c, K_LOADAVG, 200, &tls, &out);
  CHECK(strstr(t, " 1/2 201\n") != NULL, "v1 loadavg: running/total and last pid of the cgroup");
  CHECK_STR(render(&c, K_DISKSTATS, 200, &tls, &out),
            " 254       0 vda 100 0 8000 0 200 0 16000 0 0 0 0 0 0 0 0 0 0\n",
            "v1 diskstats from blkio");

  /* a reader in the root cgroups sees the host files unchanged */
  char *host = slurp("tests/fixtures/fsview/host/meminfo");
  CHECK_STR(render(&c, K_MEMINFO, 202, &tls, &out), host, "v1 root cgroup: host meminfo");
  free(host);
  host = slurp("tests/fixtures/fsview/host/stat");
  CHECK_STR(render(&c, K_STAT, 202, &tls, &out), host, "v1 root cgroup: host stat");
  free(host);

  struct cell_err err = {0};
  CHECK(fsv_render_for(&c, K_MEMINFO, 999999, &tls, &out, &err) < 0 &&
            strstr(err.msg, "999999") && strstr(err.msg, "status"),
        "unknown reader: error names the pid and file");
  CHECK(fsv_cgtab_count(c.tab) == 2, "v1: one cached cgroup per distinct cgroup set");
  fsv_ctx_free(&c);
  free((char *)c.host.proc);
  unlink(mi);

  CHECK(setup(&c, "v1", 0, mi) == 0, "v1 --no-quota-view context");
  CHECK_STR(render(&c, K_ONLINE, 200, &tls, &out), "0-2\n", "v1 --no-quota-view: whole cpuset");
  fsv_ctx_free(&c);
  free((char *)c.host.proc);
  unlink(mi);
  fsv_buf_free(&out);
  fsv_buf_free(&tls.a);
  fsv_buf_free(&tls.b);
  fsv_buf_free(&tls.c);
}

static void test_v2(void) {
  struct fsv_ctx c;
  char mi[PATH_MAX];
  struct fsv_tls tls = {0};
  struct fsv_buf out = {0};
  CHECK(setup(&c, "v2", 1, mi) == 0, "v2: context on fixture mounts");
  CHECK(c.host.v2[R_MEM] && c.host.v2[R_CPU] && c.host.v2[R_BLKIO],
        "v2: controllers from cgroup.controllers");
  const char *t = render(&c, K_MEMINFO, 300, &tls, &out);
  CHECK_STR(line_of(t, "MemTotal:"), "MemTotal:         524288 kB",
            "v2 meminfo: memory.max 'max' here, 512 MiB on the parent");
  CHECK_STR(line_of(t, "MemFree:"), "MemFree:          360448 kB", "v2 meminfo: MemFree");
  CHECK_STR(line_of(t, "MemAvailable:"), "MemAvailable:     409600 kB",
            "v2 meminfo: MemAvailable");
  CHECK_STR(render(&c, K_ONLINE, 300, &tls, &out), "0\n",
            "v2 cpu/online: cpu.max 50000/100000 on cpuset 0,2");
  t = render(&c, K_STAT, 300, &tls, &out);
  CHECK_STR(line_of(t, "cpu0 "), "cpu0 300 0 100 11200 0 0 0 0 0 0",
            "v2 stat: cpu.stat usage on the visible CPU");
  CHECK_STR(line_of(t, "procs_blocked"), "procs_blocked 1", "v2 stat: D task counted");
  CHECK_STR(render(&c, K_DISKSTATS, 300, &tls, &out),
            " 254       0 vda 10 0 2048 0 20 0 4096 0 0 0 0 0 0 0 0 0 0\n", "v2 diskstats");
  CHECK_STR(render(&c, K_PSI_CPU, 300, &tls, &out),
            "some avg10=1.50 avg60=0.75 avg300=0.10 total=123456\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=42\n",
            "v2 pressure/cpu: the cgroup's cpu.pressure");

  /* cgroup c: no memory.max, no cpu.max, no cpuset file, no io.stat */
  char *host = slurp("tests/fixtures/fsview/host/meminfo");
  t = render(&c, K_MEMINFO, 301, &tls, &out);
  CHECK(strcmp(line_of(t, "MemTotal:"), line_of(host, "MemTotal:")) == 0,
        "v2 missing memory.max: host MemTotal");
  CHECK_STR(line_of(t, "AnonPages:"), "AnonPages:          1024 kB",
            "v2 missing files: values still from memory.stat");
  free(host);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  char want[32];
  if (ncpu > 1) snprintf(want, sizeof(want), "0-%ld\n", ncpu - 1);
  else snprintf(want, sizeof(want), "0\n");
  CHECK_STR(render(&c, K_ONLINE, 301, &tls, &out), want,
            "v2 missing cpuset/cpu.max: the host's online CPUs");
  host = slurp("tests/fixtures/fsview/host/diskstats");
  CHECK_STR(render(&c, K_DISKSTATS, 301, &tls, &out), host,
            "v2 missing io.stat: host diskstats");
  free(host);
  fsv_ctx_free(&c);
  free((char *)c.host.proc);
  unlink(mi);
  fsv_buf_free(&out);
  fsv_buf_free(&tls.a);
  fsv_buf_free(&tls.b);
  fsv_buf_free(&tls.c);
}

static void put_file(const char *dir, const char *rel, const char *text) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/%s", dir, rel);
  FILE *f = fopen(p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static const char *view_line(struct fsv_ctx *c, enum fsv_kind k, pid_t pid, struct fsv_tls *tls,
                             const char *key, struct fsv_text **keep) {
  struct cell_err err = {0};
  *keep = NULL;
  if (fsv_view(c, k, pid, tls, keep, &err) < 0) {
    printf("# view: %s\n", err.msg);
    return "(error)";
  }
  return line_of((*keep)->p, key);
}

/* The render cache: texts shared per (cgroup, file) for the TTL, never
 * across cgroups, fresh values after it; cache_ms 0 renders every time. */
static void test_cache(void) {
  char saved[PATH_MAX], tmp[] = "/tmp/fsview-cache-XXXXXX", cmd[2 * PATH_MAX + 64];
  struct fsv_tls tls = {0};
  struct fsv_text *a, *b, *x, *d;
  char mi[PATH_MAX];
  struct fsv_ctx c;
  CHECK(mkdtemp(tmp) != NULL, "cache: temporary fixture tree");
  snprintf(cmd, sizeof(cmd), "cp -rL '%s/v2' '%s/v2'", fix, tmp); /* host files are links */
  CHECK(system(cmd) == 0, "cache: copy of the v2 fixtures");
  memcpy(saved, fix, sizeof(fix));
  snprintf(fix, sizeof(fix), "%s", tmp);
  const char *bmax = "v2/cgroup/a/b/memory.max";

  setup_cache_ms = 1000;
  int ok = setup(&c, "v2", 1, mi) == 0;
  CHECK(ok, "cache: context with a 1000 ms render cache");
  if (!ok) {
    memcpy(fix, saved, sizeof(fix));
    return;
  }
  /* cgroups cellfs saw less than a second ago are rendered afresh */
  view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &a);
  view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &b);
  view_line(&c, K_MEMINFO, 301, &tls, "MemTotal:", &x);
  CHECK(a && b && a != b && a->refs == 1 && b->refs == 1,
        "cache: a just-seen cgroup's text is not shared (its limits may not be set yet)");
  fsv_text_put(a);
  fsv_text_put(b);
  fsv_text_put(x);
  usleep(1050 * 1000);
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &a), "MemTotal:         524288 kB",
            "cache: reader of cgroup a/b sees its limit");
  char other[128];
  snprintf(other, sizeof(other), "%s", view_line(&c, K_MEMINFO, 301, &tls, "MemTotal:", &x));
  CHECK(strcmp(other, "MemTotal:         524288 kB") != 0 && a != x,
        "cache: a reader of another cgroup (c) gets its own text, not a/b's");
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &b), "MemTotal:         524288 kB",
            "cache: second read of a/b within the TTL");
  CHECK(a == b, "cache: readers of one cgroup share the text within the TTL");
  fsv_text_put(b);
  put_file(tmp, bmax, "268435456\n");
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &b), "MemTotal:         524288 kB",
            "cache: a limit change within the TTL is not seen yet (shared text)");
  fsv_text_put(b);
  CHECK(a->refs == 2, "cache: the cache and this test hold the text");
  usleep(1100 * 1000);
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &b), "MemTotal:         262144 kB",
            "cache: after the TTL the new limit is read");
  CHECK(a != b && a->refs == 1, "cache: a new text replaced the old one in the cache");
  CHECK_STR(view_line(&c, K_MEMINFO, 301, &tls, "MemTotal:", &d), other,
            "cache: cgroup c unaffected by a/b's change");
  fsv_text_put(d);
  fsv_text_put(b);
  fsv_ctx_free(&c);
  CHECK(a->refs == 1 && strstr(a->p, "524288 kB") != NULL,
        "cache: a text outlives the context while referenced");
  fsv_text_put(a);
  fsv_text_put(x);
  free((char *)c.host.proc);
  unlink(mi);

  setup_cache_ms = 0;
  put_file(tmp, bmax, "max\n");
  ok = setup(&c, "v2", 1, mi) == 0;
  CHECK(ok, "cache: context without a render cache");
  if (!ok) {
    memcpy(fix, saved, sizeof(fix));
    return;
  }
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &a), "MemTotal:         524288 kB",
            "no cache: a/b limit");
  put_file(tmp, bmax, "268435456\n");
  CHECK_STR(view_line(&c, K_MEMINFO, 300, &tls, "MemTotal:", &b), "MemTotal:         262144 kB",
            "no cache: a limit change is seen at once");
  CHECK(a != b && a->refs == 1 && b->refs == 1, "no cache: every view is a new text");
  fsv_text_put(a);
  fsv_text_put(b);
  fsv_ctx_free(&c);
  free((char *)c.host.proc);
  unlink(mi);

  memcpy(fix, saved, sizeof(fix));
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  CHECK(system(cmd) == 0, "cache: temporary tree removed");
  fsv_buf_free(&tls.a);
  fsv_buf_free(&tls.b);
  fsv_buf_free(&tls.c);
  fsv_buf_free(&tls.out);
}

/* A cgroup removed and made again under the same path is a new cgroup:
 * its reader sees the new limit (not the old cgroup's, not the host's);
 * a reader whose cgroup is gone gets EIO, never the host's file. */
static void test_recreate(void) {
  char saved[PATH_MAX], tmp[] = "/tmp/fsview-recreate-XXXXXX", cmd[4 * PATH_MAX];
  struct fsv_tls tls = {0};
  struct fsv_buf out = {0};
  struct cell_err err = {0};
  char mi[PATH_MAX];
  struct fsv_ctx c;
  CHECK(mkdtemp(tmp) != NULL, "recreate: temporary fixture tree");
  snprintf(cmd, sizeof(cmd), "cp -rL '%s/v2' '%s/v2'", fix, tmp);
  CHECK(system(cmd) == 0, "recreate: copy of the v2 fixtures");
  memcpy(saved, fix, sizeof(fix));
  snprintf(fix, sizeof(fix), "%s", tmp);
  setup_cache_ms = 0;
  setup_pid_ms = 1;
  int ok = setup(&c, "v2", 1, mi) == 0;
  CHECK(ok, "recreate: context");
  if (ok) {
    CHECK_STR(line_of(render(&c, K_MEMINFO, 300, &tls, &out), "MemTotal:"),
              "MemTotal:         524288 kB", "recreate: a/b first seen with a's 512 MiB");
    for (int i = 1; i <= 3; i++) {
      snprintf(cmd, sizeof(cmd),
               "cd '%s/v2/cgroup/a' && mv b b.old && cp -r b.old b && rm -rf b.old && "
               "echo %d > b/memory.max",
               tmp, i * 64 * 1024 * 1024);
      CHECK(system(cmd) == 0, "recreate: a/b removed and made again");
      usleep(3000); /* past the pid cache */
      char want[64];
      snprintf(want, sizeof(want), "MemTotal:     %10d kB", i * 64 * 1024);
      CHECK_STR(line_of(render(&c, K_MEMINFO, 300, &tls, &out), "MemTotal:"), want,
                "recreate: the new cgroup's limit, not the removed one's");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/v2/cgroup/a/b'", tmp);
    CHECK(system(cmd) == 0, "recreate: a/b removed");
    usleep(3000);
    int rc = fsv_render_for(&c, K_MEMINFO, 300, &tls, &out, &err);
    CHECK(rc < 0 && err.errnum == EIO, "recreate: a reader of a removed cgroup gets EIO");
    CHECK(rc < 0 || !strstr(out.p, "MemTotal:"), "recreate: ... and no host text");
    rc = fsv_render_for(&c, K_CPUINFO, 300, &tls, &out, &err);
    CHECK(rc < 0 && err.errnum == EIO, "recreate: cpuinfo of a removed cgroup: EIO");
    fsv_sweep(c.tab);
    CHECK(fsv_cgtab_count(c.tab) <= 1, "recreate: stale entries are dropped by the sweep");
    fsv_ctx_free(&c);
    free((char *)c.host.proc);
    unlink(mi);
  }
  setup_pid_ms = 1000;
  memcpy(fix, saved, sizeof(fix));
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  CHECK(system(cmd) == 0, "recreate: temporary tree removed");
  fsv_buf_free(&tls.a);
  fsv_buf_free(&tls.b);
  fsv_buf_free(&tls.c);
  fsv_buf_free(&tls.out);
  fsv_buf_free(&out);
}

static void test_paths(void) {
  CHECK(fsv_kind_of("proc/meminfo") == K_MEMINFO, "tree: proc/meminfo");
  CHECK(fsv_kind_of("/proc/pressure/io") == K_PSI_IO, "tree: proc/pressure/io");
  CHECK(fsv_kind_of("sys/devices/system/cpu/online") == K_ONLINE, "tree: cpu/online");
  CHECK(fsv_kind_of("proc") == K_DIR, "tree: proc is a directory");
  CHECK(fsv_kind_of("proc/nope") == -1, "tree: unknown file");
}

int main(void) {
  if (!realpath("tests/fixtures/fsview", fix)) {
    printf("not ok 1 - fixtures not found (run from the repository root)\n1..1\n");
    return 1;
  }
  test_paths();
  test_v1();
  test_v2();
  test_cache();
  test_recreate();
  UNIT_DONE();
}
