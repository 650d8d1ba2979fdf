/* fuzz_resources.c - linux.resources, as `cell update --resources FILE`
 * reads it (runtime/ops.c cell_container_update -> cell_cg_update): the
 * rendering into cgroup file values for v1 and for v2, and the v2 device
 * rules compiled into their eBPF program. */
#include <cjson/cJSON.h>

#include "cgroups/cgroup_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *res = cJSON_ParseWithLength((const char *)data, size);
  if (!res) return 0;
  struct cell_err err;
  struct cell_cg_plan p;
  if (cJSON_IsObject(res)) {
    if (cell_cg_render(res, &cell_cg_driver_v1, NULL, &p, &err) == 0) cell_cg_plan_free(&p);
    if (cell_cg_render(res, &cell_cg_driver_v2, "cpuset cpu io memory hugetlb pids rdma misc\n", &p, &err) == 0) {
      if (p.has_devices) {
        void *insns = NULL;
        size_t n = 0;
        if (cell_dev_bpf_generate(p.dev, p.ndev, &insns, &n, &err) == 0) free(insns);
      }
      cell_cg_plan_free(&p);
    }
  }
  cJSON_Delete(res);
  return 0;
}
