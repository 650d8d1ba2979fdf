/* fuzz_spec.c - config.json: parsing and every validation `cell create`
 * runs before it touches the system (runtime/container.c prepare()):
 * cell_spec_from_json, process.capabilities, the process attributes,
 * linux.seccomp and hooks.  The bundle is a temporary directory holding an
 * empty "rootfs", so root.path "rootfs" resolves. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "fuzz.h"
#include "hooks.h"
#include "procattr.h"
#include "seccomp.h"
#include "spec.h"

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
  } else {
    fuzz_report("spec", err.msg);
  }
  cell_spec_free(&s); /* also frees json, on failure too */
  return 0;
}
