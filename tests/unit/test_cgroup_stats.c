/* test_cgroup_stats.c - runc `events --stats` data parsed from fixture
 * cgroup files (tests/fixtures/cgroup/{v1,v2}/stats): cpu.stat, memory.stat,
 * io.stat, "max" values, missing files, oom kill counts. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <stdlib.h>

#define FIX "tests/fixtures/cgroup/"

/* value at a dotted path; numbers are raw items; "[i]" indexes arrays */
static const char *at(const cJSON *o, const char *path) {
  static char buf[128];
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  char *save, *t;
  for (t = strtok_r(p, ".", &save); t && o; t = strtok_r(NULL, ".", &save)) {
    if (t[0] == '[') o = cJSON_GetArrayItem(o, atoi(t + 1));
    else o = cJSON_GetObjectItemCaseSensitive(o, t);
  }
  if (!o) return "(missing)";
  if (cJSON_IsRaw(o) || cJSON_IsString(o)) return o->valuestring;
  snprintf(buf, sizeof buf, "(type %d)", o->type);
  return buf;
}

int main(void) {
  struct cell_err e = {0};
  cJSON *d = cJSON_CreateObject();
  CHECK(cell_cg_stats_v2(FIX "v2/stats", d, &e) == 0, "v2 stats");
  CHECK_STR(at(d, "cpu.usage.total"), "2500000000", "v2 cpu total usec->ns");
  CHECK_STR(at(d, "cpu.usage.user"), "1500000000", "v2 cpu user");
  CHECK_STR(at(d, "cpu.usage.kernel"), "1000000000", "v2 cpu kernel");
  CHECK_STR(at(d, "cpu.throttling.periods"), "40", "v2 periods");
  CHECK_STR(at(d, "cpu.throttling.throttledPeriods"), "7", "v2 throttled periods");
  CHECK_STR(at(d, "cpu.throttling.throttledTime"), "350000000", "v2 throttled time ns");
  CHECK_STR(at(d, "memory.usage.usage"), "104857600", "v2 memory usage");
  CHECK_STR(at(d, "memory.usage.limit"), "18446744073709551615", "v2 memory.max 'max' -> 2^64-1");
  CHECK_STR(at(d, "memory.usage.max"), "209715200", "v2 memory.peak");
  CHECK_STR(at(d, "memory.usage.failcnt"), "3", "v2 failcnt from memory.events max");
  CHECK_STR(at(d, "memory.swap_usage.usage"), "104861696", "v2 swap usage = mem + swap");
  CHECK_STR(at(d, "memory.swap_usage.limit"), "18446744073709551615", "v2 swap limit max");
  CHECK_STR(at(d, "memory.cache"), "40000000", "v2 cache = file");
  CHECK_STR(at(d, "memory.raw.pgfault"), "1234", "v2 raw memory.stat");
  CHECK_STR(at(d, "pids.current"), "12", "v2 pids current");
  CHECK_STR(at(d, "pids.limit"), "100", "v2 pids limit");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[0].op"), "Read", "io.stat rbytes op");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[0].value"), "4096", "io.stat rbytes");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[1].value"), "8192", "io.stat wbytes");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[4].major"), "253", "io.stat second device");
  CHECK_STR(at(d, "blkio.ioServicedRecursive.[1].value"), "2", "io.stat wios");
  CHECK_STR(at(d, "hugetlb.2MB.usage"), "2097152", "v2 hugetlb usage");
  CHECK_STR(at(d, "hugetlb.2MB.failcnt"), "5", "v2 hugetlb failcnt from events");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hugetlb")) == 1, "rsvd files not taken as a page size");
  char *txt = cJSON_PrintUnformatted(d);
  CHECK(txt && strstr(txt, "\"limit\":18446744073709551615"), "64-bit values printed exactly");
  free(txt);
  cJSON_Delete(d);

  /* missing files: an empty directory yields no sections, no error */
  d = cJSON_CreateObject();
  CHECK(cell_cg_stats_v2(FIX "v1/stats/pids", d, &e) == 0 && !cJSON_GetObjectItem(d, "memory") &&
            !cJSON_GetObjectItem(d, "cpu") && !cJSON_GetObjectItem(d, "blkio"),
        "v2: missing files skipped");
  cJSON_Delete(d);

  d = cJSON_CreateObject();
  CHECK(cell_cg_stats_v1(FIX "v1/stats/memory", FIX "v1/stats/cpu", FIX "v1/stats/cpuacct", FIX "v1/stats/pids",
                         FIX "v1/stats/blkio", FIX "v1/stats/hugetlb", d, &e) == 0,
        "v1 stats");
  CHECK_STR(at(d, "cpu.usage.total"), "3000000000", "v1 cpuacct.usage");
  CHECK_STR(at(d, "cpu.usage.percpu.[1]"), "2000000000", "v1 percpu");
  CHECK_STR(at(d, "cpu.usage.user"), "1500000000", "v1 user ticks -> ns");
  CHECK_STR(at(d, "cpu.usage.kernel"), "500000000", "v1 system ticks -> ns");
  CHECK_STR(at(d, "cpu.throttling.throttledTime"), "5000000", "v1 throttled_time");
  CHECK_STR(at(d, "memory.usage.usage"), "52428800", "v1 memory usage");
  CHECK_STR(at(d, "memory.usage.limit"), "536870912", "v1 limit");
  CHECK_STR(at(d, "memory.usage.max"), "60000000", "v1 max usage");
  CHECK_STR(at(d, "memory.usage.failcnt"), "4", "v1 failcnt");
  CHECK_STR(at(d, "memory.swap_usage.limit"), "9223372036854771712", "v1 memsw limit");
  CHECK_STR(at(d, "memory.cache"), "20000000", "v1 cache");
  CHECK_STR(at(d, "memory.raw.rss"), "30000000", "v1 raw");
  CHECK(!cJSON_GetObjectItem(cJSON_GetObjectItem(d, "memory"), "kernel_usage"), "v1 missing kmem files skipped");
  CHECK_STR(at(d, "pids.current"), "5", "v1 pids");
  CHECK_STR(at(d, "pids.limit"), "18446744073709551615", "v1 pids.max 'max'");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[1].op"), "Write", "v1 blkio op");
  CHECK_STR(at(d, "blkio.ioServiceBytesRecursive.[1].value"), "512", "v1 blkio value");
  CHECK(cJSON_GetArraySize(at(d, "blkio") ? cJSON_GetObjectItem(cJSON_GetObjectItem(d, "blkio"), "ioServiceBytesRecursive") : NULL) == 5,
        "v1 blkio: 'Total' line without a device skipped");
  CHECK_STR(at(d, "hugetlb.1GB.failcnt"), "1", "v1 hugetlb failcnt");
  cJSON_Delete(d);

  /* oom kill count from fixture directories */
  struct cell_cg_hier h = {.controllers = "memory", .mount = FIX, .path = FIX "v1/stats/memory"};
  struct cell_cgroup cg = {.layout = CELL_CG_LEGACY, .h = &h, .nh = 1};
  unsigned long long k = 0;
  CHECK(cell_cg_oom_kill_count(&cg, &k, &e) == 0 && k == 3, "v1 oom_kill from memory.oom_control");
  struct cell_cg_hier h2 = {.controllers = "", .mount = FIX, .path = FIX "v2/stats"};
  struct cell_cgroup cg2 = {.layout = CELL_CG_UNIFIED, .h = &h2, .nh = 1};
  CHECK(cell_cg_oom_kill_count(&cg2, &k, &e) == 0 && k == 2, "v2 oom_kill from memory.events");
  h2.path = FIX "v1/stats/pids";
  CHECK(cell_cg_oom_kill_count(&cg2, &k, &e) == -1 && strstr(e.msg, "memory.events"), "missing memory.events named");
  UNIT_DONE();
}
