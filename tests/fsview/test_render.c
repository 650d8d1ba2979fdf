/* test_render.c - parsers and pure renderers of cellfs, from fixture text
 * (tests/fixtures/fsview/{host,v1,v2}). */
#include <stdlib.h>
#include <string.h>

#include "fsview/render.h"
#include "unit.h"

#define FIX "tests/fixtures/fsview/"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("# cannot open fixture %s\n", path);
    return strdup("");
  }
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strdup(buf);
}

/* the line of text starting with key, without its newline */
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

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

static void test_parsers(void) {
  uint64_t v = 0;
  CHECK(fsv_parse_u64_max("max\n", &v) == 0 && v == FSV_UNLIMITED, "u64_max: max is unlimited");
  CHECK(fsv_parse_u64_max("268435456\n", &v) == 0 && v == 268435456, "u64_max: number");
  CHECK(fsv_parse_u64_max("", &v) < 0, "u64_max: empty file is an error");
  CHECK(fsv_parse_u64_max("12abc", &v) < 0, "u64_max: garbage is an error");

  uint64_t bm[FSV_MAXCPU / 64];
  CHECK(fsv_parse_cpulist("0-2,5,7-8\n", bm) == 0 && fsv_cpulist_count(bm) == 6,
        "cpulist: ranges and singles");
  CHECK(bm[0] == 0x1a7, "cpulist: exact bitmap");
  CHECK(fsv_parse_cpulist("\n", bm) < 0, "cpulist: empty cpuset is an error");
  CHECK(fsv_parse_cpulist("3-1", bm) < 0, "cpulist: reversed range is an error");

  int64_t q;
  uint64_t per;
  CHECK(fsv_parse_cpu_max("max 100000\n", &q, &per) == 0 && q == -1 && per == 100000,
        "cpu.max: max means no quota");
  CHECK(fsv_parse_cpu_max("50000 200000\n", &q, &per) == 0 && q == 50000 && per == 200000,
        "cpu.max: quota and period");
  CHECK(fsv_parse_cpu_max("x y", &q, &per) < 0, "cpu.max: garbage is an error");
  q = -1;
  per = 100000;
  fsv_cpu_tighten(&q, &per, 200000, 100000);
  fsv_cpu_tighten(&q, &per, -1, 100000);
  fsv_cpu_tighten(&q, &per, 50000, 100000);
  fsv_cpu_tighten(&q, &per, 90000, 100000);
  CHECK(q == 50000 && per == 100000, "cpu quota: tightest ancestor wins");

  struct fsv_mem m;
  fsv_mem_init(&m);
  char *t = slurp(FIX "v1/cgroup/memory/ctr/memory.stat");
  CHECK(fsv_parse_memstat_v1(t, &m) == 0, "memory.stat v1 parses");
  CHECK(m.limit == 268435456, "memory.stat v1: hierarchical_memory_limit");
  CHECK(m.memsw_limit == 402653184, "memory.stat v1: hierarchical_memsw_limit");
  CHECK(m.file == 41943040 && m.anon == 52428800 && m.shmem == 1048576,
        "memory.stat v1: total_cache/rss/shmem");
  CHECK(m.active_file == 20971520 && m.inactive_file == 10485760, "memory.stat v1: file LRUs");
  free(t);
  fsv_mem_init(&m);
  CHECK(fsv_parse_memstat_v1("hierarchical_memory_limit 9223372036854771712\ntotal_rss 0\n",
                             &m) == 0 &&
            m.limit == FSV_UNLIMITED,
        "memory.stat v1: PAGE_COUNTER_MAX means unlimited");
  CHECK(fsv_parse_memstat_v1("", &m) < 0, "memory.stat v1: empty file is an error");

  fsv_mem_init(&m);
  t = slurp(FIX "v2/cgroup/a/b/memory.stat");
  CHECK(fsv_parse_memstat_v2(t, &m) == 0, "memory.stat v2 parses");
  CHECK(m.anon == 104857600 && m.file == 52428800 && m.slab_reclaimable == 2097152 &&
            m.kernel_stack == 327680 && m.mapped == 8388608,
        "memory.stat v2 fields");
  CHECK(m.limit == FSV_UNLIMITED, "memory.stat v2 carries no limit");
  free(t);

  static struct fsv_cpu c;
  fsv_cpu_init(&c);
  t = slurp(FIX "v1/cgroup/cpuacct/ctr/cpuacct.usage_all");
  CHECK(fsv_parse_usage_all(t, &c) == 0 && c.have_percpu, "cpuacct.usage_all parses");
  CHECK(c.user_ns[3] == 4000000000ULL && c.system_ns[1] == 1000000000ULL,
        "cpuacct.usage_all: per-CPU user/system");
  CHECK(c.total_user_ns == 10000000000ULL && c.total_system_ns == 5000000000ULL,
        "cpuacct.usage_all: totals");
  free(t);
  CHECK(fsv_parse_cpuacct_stat("user 150\nsystem 50\n", &c, 100) == 0 &&
            c.total_user_ns == 1500000000ULL && !c.have_percpu,
        "cpuacct.stat in USER_HZ");
  t = slurp(FIX "v2/cgroup/a/b/cpu.stat");
  CHECK(fsv_parse_cpu_stat_v2(t, &c) == 0 && c.total_user_ns == 3000000000ULL &&
            c.total_system_ns == 1000000000ULL,
        "cpu.stat v2: user_usec/system_usec");
  free(t);
  CHECK(fsv_parse_cpu_stat_v2("nr_periods 1\n", &c) < 0, "cpu.stat v2 without usage: error");

  struct fsv_io io = {0};
  t = slurp(FIX "v2/cgroup/a/b/io.stat");
  CHECK(fsv_parse_io_stat(t, &io) == 0 && io.n == 1 && io.dev[0].major == 254 &&
            io.dev[0].rbytes == 1048576 && io.dev[0].wios == 20,
        "io.stat parses");
  free(t);
  io.n = 0;
  t = slurp(FIX "v1/cgroup/blkio/ctr/blkio.throttle.io_service_bytes_recursive");
  CHECK(fsv_parse_blkio(t, &io, 0) == 0 && io.n == 1 && io.dev[0].rbytes == 4096000 &&
            io.dev[0].wbytes == 8192000,
        "blkio bytes parse");
  free(t);
  t = slurp(FIX "v1/cgroup/blkio/ctr/blkio.throttle.io_serviced_recursive");
  CHECK(fsv_parse_blkio(t, &io, 1) == 0 && io.n == 1 && io.dev[0].rios == 100 &&
            io.dev[0].wios == 200,
        "blkio ios parse into the same device");
  free(t);
}

static void test_meminfo(void) {
  char *host = slurp(FIX "host/meminfo");
  char *hswap = slurp(FIX "host/meminfo-swap");
  struct fsv_buf b = {0};
  struct fsv_mem m;

  /* v1: 256 MiB limit, memsw 384 MiB (128 MiB of swap), 100 MiB used */
  fsv_mem_init(&m);
  char *t = slurp(FIX "v1/cgroup/memory/ctr/memory.stat");
  fsv_parse_memstat_v1(t, &m);
  free(t);
  m.usage = 104857600;
  m.swap_usage = 115343360 - 104857600;
  m.swap_limit = m.memsw_limit - m.limit;
  fsv_render_meminfo(hswap, &m, &b);
  CHECK_STR(line_of(b.p, "MemTotal:"), "MemTotal:         262144 kB", "v1 MemTotal = limit");
  CHECK_STR(line_of(b.p, "MemFree:"), "MemFree:          159744 kB", "v1 MemFree = limit - usage");
  CHECK_STR(line_of(b.p, "MemAvailable:"), "MemAvailable:     190464 kB",
            "v1 MemAvailable counts the file LRUs");
  CHECK_STR(line_of(b.p, "Cached:"), "Cached:            40960 kB", "v1 Cached = total_cache");
  CHECK_STR(line_of(b.p, "Buffers:"), "Buffers:               0 kB", "Buffers is 0");
  CHECK_STR(line_of(b.p, "SwapTotal:"), "SwapTotal:        131072 kB", "v1 SwapTotal = memsw - mem");
  CHECK_STR(line_of(b.p, "SwapFree:"), "SwapFree:         120832 kB", "v1 SwapFree");
  CHECK_STR(line_of(b.p, "Active(file):"), "Active(file):      20480 kB", "v1 Active(file)");
  CHECK_STR(line_of(b.p, "Shmem:"), "Shmem:              1024 kB", "v1 Shmem");
  CHECK(strcmp(line_of(b.p, "VmallocTotal:"), line_of(host, "VmallocTotal:")) == 0,
        "lines without a cgroup value pass through");
  CHECK(count_of(b.p, "\n") == count_of(host, "\n"), "meminfo keeps every host line");

  /* same values, host without swap: no swap whatever the limit */
  fsv_buf_reset(&b);
  fsv_render_meminfo(host, &m, &b);
  CHECK_STR(line_of(b.p, "SwapTotal:"), "SwapTotal:             0 kB", "no host swap: SwapTotal 0");

  /* v2: "max" here, 512 MiB on the parent (the collector tightens limit) */
  fsv_mem_init(&m);
  t = slurp(FIX "v2/cgroup/a/b/memory.stat");
  fsv_parse_memstat_v2(t, &m);
  free(t);
  m.limit = 536870912;
  m.usage = 167772160;
  m.swap_limit = 268435456;
  m.swap_usage = 16777216;
  fsv_buf_reset(&b);
  fsv_render_meminfo(hswap, &m, &b);
  CHECK_STR(line_of(b.p, "MemTotal:"), "MemTotal:         524288 kB", "v2 MemTotal");
  CHECK_STR(line_of(b.p, "MemFree:"), "MemFree:          360448 kB", "v2 MemFree");
  CHECK_STR(line_of(b.p, "MemAvailable:"), "MemAvailable:     409600 kB",
            "v2 MemAvailable counts file LRUs and reclaimable slab");
  CHECK_STR(line_of(b.p, "SReclaimable:"), "SReclaimable:       2048 kB", "v2 SReclaimable");
  CHECK_STR(line_of(b.p, "Slab:"), "Slab:               3072 kB", "v2 Slab");
  CHECK_STR(line_of(b.p, "SwapTotal:"), "SwapTotal:        262144 kB", "v2 SwapTotal = swap.max");
  CHECK_STR(line_of(b.p, "SwapFree:"), "SwapFree:         245760 kB", "v2 SwapFree");

  /* no limit anywhere ("max"): host total, cgroup usage */
  m.limit = FSV_UNLIMITED;
  m.swap_limit = FSV_UNLIMITED;
  fsv_buf_reset(&b);
  fsv_render_meminfo(hswap, &m, &b);
  CHECK(strcmp(line_of(b.p, "MemTotal:"), line_of(host, "MemTotal:")) == 0,
        "unlimited: MemTotal is the host's");
  CHECK_STR(line_of(b.p, "SwapTotal:"), "SwapTotal:       2097152 kB", "unlimited swap: host SwapTotal");

  /* usage above the limit never underflows */
  m.limit = 1048576;
  m.usage = 4194304;
  fsv_buf_reset(&b);
  fsv_render_meminfo(host, &m, &b);
  CHECK_STR(line_of(b.p, "MemFree:"), "MemFree:               0 kB", "usage > limit: MemFree 0");
  CHECK_STR(line_of(b.p, "MemAvailable:"), "MemAvailable:       1024 kB",
            "MemAvailable never exceeds MemTotal");

  /* swaps */
  fsv_mem_init(&m);
  m.limit = 268435456;
  m.swap_limit = 134217728;
  m.swap_usage = 10485760;
  fsv_buf_reset(&b);
  fsv_render_swaps(hswap, &m, &b);
  CHECK(strstr(b.p, "Filename") == b.p, "swaps: header");
  CHECK(strstr(b.p, "virtual\t\t131072\t\t10240\t\t0\n") != NULL, "swaps: size and used from the limit");
  fsv_buf_reset(&b);
  fsv_render_swaps(host, &m, &b);
  CHECK(count_of(b.p, "\n") == 1, "swaps: no host swap, header only");
  fsv_buf_free(&b);
  free(host);
  free(hswap);
}

static void test_cpu(void) {
  char *cpuinfo = slurp(FIX "host/cpuinfo");
  char *stat = slurp(FIX "host/stat");
  struct fsv_buf b = {0};
  static struct fsv_cpu c;
  int ids[FSV_MAXCPU];
  fsv_cpu_init(&c);
  fsv_parse_cpulist("1-3", c.cpuset);
  c.quota_us = 150000;
  c.period_us = 100000;
  int n = fsv_visible_cpus(&c, 1, ids, FSV_MAXCPU);
  CHECK(n == 2 && ids[0] == 1 && ids[1] == 2, "quota view: ceil(150000/100000) of cpuset 1-3");
  CHECK(fsv_visible_cpus(&c, 0, ids, FSV_MAXCPU) == 3, "--no-quota-view: the whole cpuset");
  c.quota_us = 1000; /* 1% still shows one CPU */
  CHECK(fsv_visible_cpus(&c, 1, ids, FSV_MAXCPU) == 1 && ids[0] == 1, "tiny quota: one CPU");
  c.quota_us = 800000;
  CHECK(fsv_visible_cpus(&c, 1, ids, FSV_MAXCPU) == 3, "quota above the cpuset: the cpuset");
  c.quota_us = 150000;
  n = fsv_visible_cpus(&c, 1, ids, FSV_MAXCPU);

  fsv_render_cpuinfo(cpuinfo, ids, n, &b);
  CHECK(count_of(b.p, "processor\t:") == 2, "cpuinfo: two processors");
  CHECK(strstr(b.p, "processor\t: 0\n") && strstr(b.p, "processor\t: 1\n") &&
            !strstr(b.p, "processor\t: 2\n"),
        "cpuinfo: renumbered from 0");
  CHECK(strstr(b.p, "apicid\t\t: 1\n") && strstr(b.p, "apicid\t\t: 2\n") &&
            !strstr(b.p, "apicid\t\t: 0\n") && !strstr(b.p, "apicid\t\t: 3\n"),
        "cpuinfo: the blocks of host CPUs 1 and 2");

  fsv_buf_reset(&b);
  fsv_render_cpulist(ids, n, &b);
  CHECK_STR(b.p, "0-1\n", "cpu/online: 0-1");
  fsv_buf_reset(&b);
  fsv_render_cpulist(ids, 1, &b);
  CHECK_STR(b.p, "0\n", "cpu/online: one CPU is 0");

  char *t = slurp(FIX "v1/cgroup/cpuacct/ctr/cpuacct.usage_all");
  fsv_parse_usage_all(t, &c);
  free(t);
  struct fsv_tasks tk = {.nr_tasks = 2, .nr_running = 1, .nr_blocked = 0, .last_pid = 201};
  fsv_buf_reset(&b);
  fsv_render_stat(stat, &c, ids, n, &tk, &b);
  /* cpu1 (visible 0) 200/100 + hidden cpu3 400/200 folded + cpu0 (never in
   * the set) 100/50; cpu2 (visible 1) 300/150.  idle = host total - used */
  CHECK_STR(line_of(b.p, "cpu0 "), "cpu0 700 0 350 8550 0 0 0 0 0 0", "stat: visible CPU 0");
  CHECK_STR(line_of(b.p, "cpu1 "), "cpu1 300 0 150 8550 0 0 0 0 0 0", "stat: visible CPU 1");
  CHECK_STR(line_of(b.p, "cpu  "), "cpu  1000 0 500 17100 0 0 0 0 0 0", "stat: aggregate = sum");
  CHECK(strstr(b.p, "cpu  ") == b.p, "stat: aggregate line first");
  CHECK(!strstr(b.p, "cpu2 ") && !strstr(b.p, "cpu3 "), "stat: hidden CPUs have no line");
  CHECK_STR(line_of(b.p, "btime"), "btime 1700000000", "stat: host btime");
  CHECK_STR(line_of(b.p, "processes"), "processes 2", "stat: processes of the cgroup");
  CHECK_STR(line_of(b.p, "procs_running"), "procs_running 1", "stat: procs_running of the cgroup");
  CHECK_STR(line_of(b.p, "procs_blocked"), "procs_blocked 0", "stat: procs_blocked of the cgroup");
  CHECK_STR(line_of(b.p, "ctxt"), "ctxt 4242424", "stat: other lines pass through");

  /* v2: no per-CPU usage, spread over the visible CPUs */
  fsv_cpu_init(&c);
  fsv_parse_cpulist("0,2", c.cpuset);
  fsv_parse_cpu_stat_v2("usage_usec 4000000\nuser_usec 3000000\nsystem_usec 1000000\n", &c);
  n = fsv_visible_cpus(&c, 0, ids, FSV_MAXCPU);
  fsv_buf_reset(&b);
  fsv_render_stat(stat, &c, ids, n, &tk, &b);
  CHECK_STR(line_of(b.p, "cpu0 "), "cpu0 150 0 50 11400 0 0 0 0 0 0", "stat v2: host cpu0 half");
  CHECK_STR(line_of(b.p, "cpu1 "), "cpu1 150 0 50 8800 0 0 0 0 0 0", "stat v2: host cpu2 half");

  /* uptime: since the init started, idle consistent with busy time */
  fsv_buf_reset(&b);
  fsv_render_uptime(1000.0, 400.0, &c, 2, &b);
  CHECK_STR(b.p, "600.00 1196.00\n", "uptime: 600 s, idle = 2*600 - 4 s busy");
  fsv_buf_reset(&b);
  fsv_render_uptime(100.0, 400.0, &c, 2, &b);
  CHECK_STR(b.p, "0.00 0.00\n", "uptime: never negative");

  fsv_buf_free(&b);
  free(cpuinfo);
  free(stat);
}

static void test_loadavg_disk(void) {
  struct fsv_tasks tk = {0};
  /* one always-runnable task for a minute: 1 - 1/e of one */
  for (int i = 0; i < 12; i++)
    for (int k = 0; k < 3; k++) tk.load[k] = fsv_calc_load(tk.load[k], k, 1);
  double l1 = (double)tk.load[0] / FSV_FIXED_1;
  double l5 = (double)tk.load[1] / FSV_FIXED_1;
  CHECK(l1 > 0.60 && l1 < 0.66, "loadavg: 1 min decay after 60 s of one task");
  CHECK(l5 > 0.16 && l5 < 0.20, "loadavg: 5 min decay after 60 s of one task");
  tk.nr_running = 1;
  tk.nr_tasks = 3;
  tk.last_pid = 4242;
  struct fsv_buf b = {0};
  fsv_render_loadavg(&tk, &b);
  CHECK(strncmp(b.p, "0.6", 3) == 0 && strstr(b.p, " 1/3 4242\n"), "loadavg: format");
  for (int i = 0; i < 200; i++)
    for (int k = 0; k < 3; k++) tk.load[k] = fsv_calc_load(tk.load[k], k, 0);
  fsv_buf_reset(&b);
  fsv_render_loadavg(&tk, &b);
  CHECK(strncmp(b.p, "0.00 ", 5) == 0, "loadavg: decays to 0 when idle");

  char *ds = slurp(FIX "host/diskstats");
  struct fsv_io io = {0};
  char *t = slurp(FIX "v1/cgroup/blkio/ctr/blkio.throttle.io_service_bytes_recursive");
  fsv_parse_blkio(t, &io, 0);
  free(t);
  t = slurp(FIX "v1/cgroup/blkio/ctr/blkio.throttle.io_serviced_recursive");
  fsv_parse_blkio(t, &io, 1);
  free(t);
  fsv_buf_reset(&b);
  fsv_render_diskstats(ds, &io, &b);
  CHECK_STR(b.p, " 254       0 vda 100 0 8000 0 200 0 16000 0 0 0 0 0 0 0 0 0 0\n",
            "diskstats v1: the cgroup's reads/writes and sectors");
  io.n = 0;
  t = slurp(FIX "v2/cgroup/a/b/io.stat");
  fsv_parse_io_stat(t, &io);
  free(t);
  fsv_buf_reset(&b);
  fsv_render_diskstats(ds, &io, &b);
  CHECK_STR(b.p, " 254       0 vda 10 0 2048 0 20 0 4096 0 0 0 0 0 0 0 0 0 0\n",
            "diskstats v2: from io.stat");
  io.n = 0;
  fsv_buf_reset(&b);
  fsv_render_diskstats(ds, &io, &b);
  CHECK(b.len == 0, "diskstats: no io.stat lines, no devices");
  fsv_buf_free(&b);
  free(ds);
}

int main(void) {
  test_parsers();
  test_meminfo();
  test_cpu();
  test_loadavg_disk();
  UNIT_DONE();
}
