/* env_common.c - helpers of the environment verbs. */
#include <stdlib.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

int envcmd_open(const char *name, struct env **e, struct cell_err *err) {
  return env_open(cg.root, cg.run_dir, name, e, err);
}

int envcmd_seconds(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 0 || v > 86400) return -1;
  return (int)v;
}
