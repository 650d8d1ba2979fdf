/* test_cgroup_resources.c - the pure "which file gets which value" step for
 * every linux.resources field, v1 and v2, against fixture expectations;
 * shares->weight conversion; field-naming validation errors. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <stdlib.h>

#define FIX "tests/fixtures/cgroup/"

static char *fixture(const char *name) {
  char *s = NULL;
  struct cell_err e;
  if (cell_cg_read(name, &s, &e) < 0) {
    printf("# cannot read fixture: %s\n", e.msg);
    exit(1);
  }
  return s;
}

/* plan as "controller|file|value|field" lines */
static char *dump(const struct cell_cg_plan *p) {
  size_t cap = 1, len = 0;
  for (size_t i = 0; i < p->n; i++)
    cap += strlen(p->kv[i].controller) + strlen(p->kv[i].file) + strlen(p->kv[i].value) + strlen(p->kv[i].field) + 4;
  char *s = malloc(cap);
  s[0] = 0;
  for (size_t i = 0; i < p->n; i++)
    len += (size_t)sprintf(s + len, "%s|%s|%s|%s\n", p->kv[i].controller, p->kv[i].file, p->kv[i].value,
                           p->kv[i].field);
  return s;
}

static int render_str(const char *json, bool v2, const char *enabled, struct cell_cg_plan *p, struct cell_err *e) {
  cJSON *j = cJSON_Parse(json);
  if (!j) {
    printf("# bad test json: %s\n", json);
    exit(1);
  }
  int r = cell_cg_render(j, v2 ? &cell_cg_driver_v2 : &cell_cg_driver_v1, enabled, p, e);
  cJSON_Delete(j);
  return r;
}

/* expect a rendering error containing `want` */
static void bad(const char *json, bool v2, const char *want) {
  struct cell_cg_plan p;
  struct cell_err e = {0};
  int r = render_str(json, v2, "cpu memory pids io", &p, &e);
  char name[300];
  snprintf(name, sizeof name, "error names '%s'", want);
  CHECK(r == -1 && strstr(e.msg, want), name);
  if (r == -1 && !strstr(e.msg, want)) printf("#   got: %s\n", e.msg);
  if (r == 0) cell_cg_plan_free(&p);
}

/* render and return the value written to file (first occurrence) */
static char *value_of(const char *json, bool v2, const char *file) {
  static char buf[CELL_ERR_MAX + 16];
  struct cell_cg_plan p;
  struct cell_err e;
  if (render_str(json, v2, "", &p, &e) < 0) {
    snprintf(buf, sizeof buf, "ERROR %s", e.msg);
    return buf;
  }
  snprintf(buf, sizeof buf, "(absent)");
  for (size_t i = 0; i < p.n; i++)
    if (strcmp(p.kv[i].file, file) == 0) {
      snprintf(buf, sizeof buf, "%s", p.kv[i].value);
      break;
    }
  cell_cg_plan_free(&p);
  return buf;
}

int main(void) {
  struct cell_err e = {0};
  struct cell_cg_plan p;

  /* shares -> weight: the standard conversion */
  CHECK(cell_cg_shares_to_weight(2) == 1, "shares 2 -> weight 1");
  CHECK(cell_cg_shares_to_weight(1024) == 39, "shares 1024 -> weight 39");
  CHECK(cell_cg_shares_to_weight(262144) == 10000, "shares 262144 -> weight 10000");
  CHECK(cell_cg_shares_to_weight(0) == 0, "shares 0 stays unset");

  char *json = fixture(FIX "resources.json");
  cJSON *res = cJSON_Parse(json);
  CHECK(res != NULL, "fixture parses");

  CHECK(cell_cg_render(res, &cell_cg_driver_v1, NULL, &p, &e) == 0, "v1 render");
  char *got = dump(&p), *want = fixture(FIX "resources_v1.expected");
  CHECK_STR(got, want, "v1: every resource to the right file and value");
  CHECK(strstr(p.warnings, "memory.kernel ") && strstr(p.warnings, "kernelTCP"), "v1: kernel/kernelTCP warned");
  CHECK(p.ndev == 3 && !p.has_devices, "v1: devices as file writes, no BPF");
  free(got);
  free(want);
  cell_cg_plan_free(&p);

  CHECK(cell_cg_render(res, &cell_cg_driver_v2, "cpuset cpu io memory hugetlb pids rdma", &p, &e) == 0, "v2 render");
  if (p.n == 0) printf("# %s\n", e.msg);
  got = dump(&p);
  want = fixture(FIX "resources_v2.expected");
  CHECK_STR(got, want, "v2: every resource to the right file and value");
  CHECK(p.has_devices && p.ndev == 3, "v2: devices become a BPF program");
  CHECK(strstr(p.warnings, "swappiness") && strstr(p.warnings, "disableOOMKiller") && strstr(p.warnings, "leafWeight"),
        "v2: v1-only fields warned");
  free(got);
  free(want);
  cell_cg_plan_free(&p);
  cJSON_Delete(res);
  free(json);

  /* memory edge cases */
  CHECK_STR(value_of("{\"memory\":{\"limit\":-1}}", true, "memory.max"), "max", "v2 limit -1 -> max");
  CHECK_STR(value_of("{\"memory\":{\"limit\":-1}}", true, "memory.swap.max"), "max", "v2 unlimited memory -> swap max");
  CHECK_STR(value_of("{\"memory\":{\"limit\":100,\"swap\":-1}}", true, "memory.swap.max"), "max", "v2 swap -1 -> max");
  CHECK_STR(value_of("{\"memory\":{\"limit\":100,\"swap\":100}}", true, "memory.swap.max"), "0", "v2 swap == limit -> 0");
  CHECK_STR(value_of("{\"memory\":{\"limit\":-1}}", false, "memory.limit_in_bytes"), "-1", "v1 limit -1");
  CHECK_STR(value_of("{\"memory\":{\"disableOOMKiller\":false}}", false, "memory.oom_control"), "0", "v1 oom enabled");
  CHECK_STR(value_of("{\"memory\":{\"limit\":0}}", false, "memory.limit_in_bytes"), "(absent)", "limit 0 = unset");
  CHECK_STR(value_of("{\"pids\":{\"limit\":-1}}", true, "pids.max"), "max", "pids -1 -> max");
  CHECK_STR(value_of("{\"pids\":{\"limit\":-1}}", false, "pids.max"), "max", "v1 pids -1 -> max");
  CHECK_STR(value_of("{\"pids\":{\"limit\":0}}", true, "pids.max"), "(absent)", "pids 0 = unset");
  CHECK_STR(value_of("{\"cpu\":{\"quota\":-1,\"period\":250000}}", true, "cpu.max"), "max 250000", "v2 quota -1 -> max");
  CHECK_STR(value_of("{\"cpu\":{\"quota\":20000}}", true, "cpu.max"), "20000", "v2 quota alone");
  CHECK_STR(value_of("{\"cpu\":{\"realtimePeriod\":1000000,\"realtimeRuntime\":950000}}", false, "cpu.rt_period_us"),
            "1000000", "v1 realtime period");
  CHECK_STR(value_of("{\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":0}]}", true, "hugetlb.1GB.max"), "0",
            "v2 hugetlb 1GB");
  CHECK_STR(value_of("{\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]}}", false,
                     "net_prio.ifpriomap"),
            "eth0 5", "v1 net_prio");
  CHECK_STR(value_of("{\"network\":{\"classID\":1048577}}", false, "net_cls.classid"), "1048577", "v1 net_cls");

  /* unified */
  CHECK(render_str("{\"unified\":{\"memory.high\":\"1G\",\"cgroup.max.depth\":\"3\"}}", true, "cpu memory", &p, &e) == 0 &&
            p.n == 2 && strcmp(p.kv[0].file, "memory.high") == 0 && strcmp(p.kv[0].value, "1G") == 0 &&
            strcmp(p.kv[0].controller, "") == 0,
        "unified written verbatim");
  if (p.n) cell_cg_plan_free(&p);
  bad("{\"unified\":{\"hugetlb.2MB.max\":\"1\"}}", true, "controller \"hugetlb\" is not enabled");
  bad("{\"unified\":{\"../memory.max\":\"1\"}}", true, "linux.resources.unified.../memory.max: not a cgroup file name");
  bad("{\"unified\":{\"..\":\"1\"}}", true, "not a cgroup file name");
  bad("{\"unified\":{\"cgroup.procs\":\"1\"}}", true, "not a resource");
  bad("{\"unified\":{\"memory.max\":5}}", true, "value must be a string");
  {
    cJSON *j = cJSON_Parse("{\"unified\":{\"memory.max\":\"5\"}}");
    CHECK(cell_cg_render(j, &cell_cg_driver_v1, NULL, &p, &e) == -1 && strstr(e.msg, "need cgroup v2"), "unified on legacy refused");
    cJSON_Delete(j);
  }

  /* validation errors name the field */
  bad("{\"memory\":{\"limit\":\"1G\"}}", false, "linux.resources.memory.limit: must be an integer");
  bad("{\"memory\":{\"limit\":200,\"swap\":100}}", false, "linux.resources.memory.swap: memory+swap limit 100 must be >=");
  bad("{\"memory\":{\"swap\":100}}", true, "linux.resources.memory.swap: cannot set a swap limit without memory.limit");
  bad("{\"memory\":{\"swappiness\":101}}", false, "linux.resources.memory.swappiness: 101 is out of range");
  bad("{\"memory\":{\"limit\":-5}}", false, "linux.resources.memory.limit: -5 is below the minimum -1");
  bad("{\"cpu\":{\"shares\":1}}", true, "linux.resources.cpu.shares: 1 is out of range");
  bad("{\"cpu\":{\"cpus\":\"0-1;rm\"}}", false, "linux.resources.cpu.cpus");
  bad("{\"cpu\":{\"realtimeRuntime\":5}}", true, "linux.resources.cpu.realtimeRuntime: realtime scheduling limits are not supported on cgroup v2");
  bad("{\"cpu\":[]}", false, "linux.resources.cpu: must be an object");
  bad("{\"blockIO\":{\"weight\":5}}", false, "linux.resources.blockIO.weight: 5 is out of range 10-1000");
  bad("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}", false,
      "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required");
  bad("{\"blockIO\":{\"weightDevice\":[{\"major\":8}]}}", false, "linux.resources.blockIO.weightDevice[0]: major and minor are required");
  bad("{\"hugepageLimits\":[{\"pageSize\":\"2M\",\"limit\":1}]}", false, "linux.resources.hugepageLimits[0].pageSize");
  bad("{\"network\":{\"classID\":1}}", true, "linux.resources.network: net_cls/net_prio are cgroup v1 controllers");
  bad("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", false, "linux.resources.devices[0].type");
  bad("{\"devices\":[{\"allow\":true,\"access\":\"rwz\"}]}", false, "linux.resources.devices[0].access");
  bad("{\"devices\":[{\"type\":\"c\"}]}", true, "linux.resources.devices[0].allow: required boolean");
  bad("{\"pids\":{\"limit\":1.5}}", false, "linux.resources.pids.limit: must be an integer");
  bad("[1]", false, "linux.resources: must be an object");

  /* driver selection: once, from the layout; systemd has a slot but no driver */
  CHECK(cell_cg_driver_for(CELL_CG_UNIFIED) == &cell_cg_driver_v2 &&
            cell_cg_driver_for(CELL_CG_HYBRID) == &cell_cg_driver_v1 &&
            cell_cg_driver_for(CELL_CG_LEGACY) == &cell_cg_driver_v1,
        "unified -> v2 driver, hybrid and legacy -> v1 driver");
  {
    const struct cell_cg_driver *d = NULL;
    CHECK(cell_cg_driver_select(CELL_CG_HYBRID, false, &d, &e) == 0 && d == &cell_cg_driver_v1, "select cgroupfs v1");
    d = NULL;
    CHECK(cell_cg_driver_systemd == NULL && cell_cg_driver_select(CELL_CG_UNIFIED, true, &d, &e) == -1 && !d &&
              strstr(e.msg, "systemd cgroup driver: not implemented"),
          "the systemd driver is refused with a clear error, not faked");
  }
  /* every op of both drivers is filled in */
  for (int i = 0; i < 2; i++) {
    const struct cell_cg_driver *d = i ? &cell_cg_driver_v2 : &cell_cg_driver_v1;
    CHECK(d->name && d->hier && d->memory && d->cpu && d->blkio_weight && d->blkio_leaf_weight && d->blkio_throttle &&
              d->hugetlb && d->network && d->devices && d->mem_usage_file && d->oom_events_file && d->stats &&
              d->freeze && d->is_frozen,
          i ? "v2 driver complete" : "v1 driver complete");
  }
  UNIT_DONE();
}
