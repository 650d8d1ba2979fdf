/* fuzz_spec.c - config.json: parsing and every validation `cell create`
 * runs before it touches the system (runtime/container.c prepare()):
 * cell_spec_from_json, process.capabilities, the process attributes,
 * linux.seccomp and hooks.  The bundle is a temporary directory holding an
 * empty "rootfs", so root.path "rootfs" resolves. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "cgroups/cgroup_internal.h"
#include "fuzz.h"
#include "runtime/hooks.h"
#include "runtime/procattr.h"
#include "runtime/cell_seccomp.h"
#include "runtime/spec.h"

/* A hybrid host, for linux.cgroupsPath (relative, absolute, systemd). */
static const char host_cgroup[] =
    "4:memory:/user.slice\n3:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/s.scope\n0::/user.slice/s.scope\n";
static const char host_mountinfo[] =
    "27 25 0:24 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "28 27 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "29 27 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "30 27 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "31 27 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

static char bundle[64];
static char rootfs[96];

static void cleanup(void) {
  rmdir(rootfs);
  rmdir(bundle);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(bundle, sizeof bundle, "/tmp/cell-fuzz-spec.XXXXXX");
  if (!mkdtemp(bundle)) {
    perror("mkdtemp");
    abort();
  }
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
  if (mkdir(rootfs, 0755) < 0) {
    perror("mkdir rootfs");
    abort();
  }
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *json = cJSON_ParseWithLength((const char *)data, size);
  if (!json) return 0;
  struct cell_spec s;
  struct cell_err err;
  if (cell_spec_from_json(json, bundle, &s, &err) == 0) {
    if (s.process) {
      const cJSON *cj = cJSON_GetObjectItem(s.process, "capabilities");
      struct cell_caps caps;
      if (cj && cell_caps_parse_last(cj, 40, &caps, &err) < 0) fuzz_report("capabilities", err.msg);
      struct cell_procattr pa;
      memset(&pa, 0, sizeof pa);
      if (cell_procattr_prepare(s.process, s.linux_obj, &pa, &err) == 0) cell_procattr_free(&pa);
      else fuzz_report("procattr", err.msg);
    }
    struct cell_seccomp *sc = NULL;
    if (cell_seccomp_build(s.seccomp, &sc, &err) == 0) cell_seccomp_free(sc);
    else fuzz_report("seccomp", err.msg);
    if (s.hooks && cell_hooks_validate(s.hooks, &err) < 0) fuzz_report("hooks", err.msg);
    for (int l = CELL_CG_UNIFIED; l <= CELL_CG_LEGACY; l++) {
      struct cell_cgroup *cg = NULL;
      if (cell_cg_resolve((enum cell_cg_layout)l, host_cgroup, host_mountinfo, s.cgroups_path, "ctr", true, &cg,
                          &err) == 0)
        cell_cg_free(cg);
      else
        fuzz_report("cgroupsPath", err.msg);
    }
  } else {
    fuzz_report("spec", err.msg);
  }
  cell_spec_free(&s); /* also frees json, on failure too */
  return 0;
}
