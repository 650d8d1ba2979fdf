/* fuzz_process.c - `cell exec --process FILE`: the process.json checks of
 * runtime/exec.c (args, env, capabilities, process attributes). */
#include <cjson/cJSON.h>

#include "runtime/caps.h"
#include "fuzz.h"
#include "runtime/procattr.h"
#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *proc = cJSON_ParseWithLength((const char *)data, size);
  if (!proc) return 0;
  struct cell_err err;
  char **args = NULL, **env = NULL;
  if (!cJSON_IsObject(proc)) goto out;
  if (cell_json_strv(cJSON_GetObjectItem(proc, "args"), "process.args", &args, &err) < 0) goto out;
  if (cell_json_strv(cJSON_GetObjectItem(proc, "env"), "process.env", &env, &err) < 0) goto out;
  const cJSON *cj = cJSON_GetObjectItem(proc, "capabilities");
  struct cell_caps caps;
  if (cj && cell_caps_parse_last(cj, 40, &caps, &err) < 0) goto out;
  struct cell_procattr pa;
  memset(&pa, 0, sizeof pa);
  if (cell_procattr_prepare(proc, NULL, &pa, &err) == 0) cell_procattr_free(&pa);
out:
  cell_strv_free(args);
  cell_strv_free(env);
  cJSON_Delete(proc);
  return 0;
}
