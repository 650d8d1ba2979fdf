/* fuzz_cg_mountinfo.c - the runtime's cgroup placement parser
 * (cgroups/cgroup.c cell_cg_resolve): the text of /proc/self/cgroup and of
 * /proc/self/mountinfo, turned into the container's cgroup directories.
 * Input: the /proc/self/cgroup text, a NUL byte, the mountinfo text (no NUL:
 * the whole input is mountinfo and /proc/self/cgroup is a fixed hybrid one). */
#include "cgroups/cgroup_internal.h"
#include "fuzz.h"

static const char fixed_cgroup[] =
    "12:memory:/user.slice\n11:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/s.scope\n0::/user.slice/s.scope\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_str(data, size);
  if (!text) return 0;
  const char *proc_cgroup = fixed_cgroup, *mountinfo = text;
  if (strlen(text) < size) { /* a NUL: split there */
    proc_cgroup = text;
    mountinfo = text + strlen(text) + 1;
  }
  static const char *paths[] = {NULL, "cell-fuzz/x", "/cell-fuzz/abs", "system.slice:cell:x"};
  static const enum cell_cg_layout layouts[] = {CELL_CG_UNIFIED, CELL_CG_HYBRID, CELL_CG_LEGACY};
  for (size_t l = 0; l < sizeof layouts / sizeof *layouts; l++) {
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
      struct cell_cgroup *cg = NULL;
      struct cell_err err;
      if (cell_cg_resolve(layouts[l], proc_cgroup, mountinfo, paths[p], "ctr", true, &cg, &err) == 0) {
        /* what `cell state` keeps and `cell exec`/`update` re-open */
        char *ser = cell_cg_serialize(cg);
        free(ser);
        cell_cg_free(cg);
      }
    }
  }
  free(text);
  return 0;
}
