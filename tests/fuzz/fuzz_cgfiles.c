/* fuzz_cgfiles.c - the cgroup file parsers cellfs reads (fsview/render.c,
 * called by the collectors of fsview/cgroup.c): memory.stat (v1, v2),
 * memory.max and friends, cpu.max, cfs quota/period, cpuset lists,
 * cpuacct.usage_all, cpuacct.stat, cpu.stat, io.stat, blkio.throttle.*,
 * and the "Key: value" reader of /proc files.  Every parser sees every
 * input; the renderers then use the parsed values, with the input also as
 * the host's /proc text. */
#include "fuzz.h"
#include "fsview/render.h"

static struct fsv_cpu cpu; /* large: kept off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_str(data, size);
  if (!text) return 0;
  struct fsv_buf out = {0};
  uint64_t v;
  fsv_parse_u64_max(text, &v);
  fsv_field_u64(text, "MemTotal", &v);

  struct fsv_mem m;
  fsv_mem_init(&m);
  fsv_parse_memstat_v1(text, &m);
  fsv_render_meminfo(text, &m, &out);
  fsv_render_swaps(text, &m, &out);
  fsv_mem_init(&m);
  fsv_parse_memstat_v2(text, &m);
  fsv_render_meminfo(text, &m, &out);

  fsv_cpu_init(&cpu);
  if (fsv_parse_cpulist(text, cpu.cpuset) == 0) fsv_cpulist_count(cpu.cpuset);
  int64_t quota = -1;
  uint64_t period = 100000;
  if (fsv_parse_cpu_max(text, &quota, &period) == 0) fsv_cpu_tighten(&cpu.quota_us, &cpu.period_us, quota, period);
  fsv_parse_usage_all(text, &cpu);
  fsv_parse_cpu_stat_v2(text, &cpu);
  fsv_parse_cpuacct_stat(text, &cpu, 100);
  int ids[FSV_MAXCPU];
  for (int qv = 0; qv < 2; qv++) {
    int n = fsv_visible_cpus(&cpu, qv, ids, FSV_MAXCPU);
    struct fsv_tasks tk = {.nr_tasks = 3, .nr_running = 1, .last_pid = 42};
    fsv_render_cpuinfo(text, ids, n, &out);
    fsv_render_cpulist(ids, n, &out);
    fsv_render_stat(text, &cpu, ids, n, &tk, &out);
    fsv_render_uptime(1000.5, 10.25, &cpu, n, &out);
  }

  struct fsv_io io = {0};
  fsv_parse_io_stat(text, &io);
  fsv_render_diskstats(text, &io, &out);
  io.n = 0;
  fsv_parse_blkio(text, &io, 0);
  fsv_parse_blkio(text, &io, 1);
  fsv_render_diskstats(text, &io, &out);

  fsv_buf_free(&out);
  free(text);
  return 0;
}
