/* checkpoint.c - `cell checkpoint` and `cell restore`: not supported (no CRIU). */
#include "cmd/cell/cmd.h"

int cmd_checkpoint(int argc, char **argv) {
  (void)argc;
  struct cell_err err;
  cell_error(&err, 0, "%s: checkpoint/restore is not supported by cell (no CRIU integration)", argv[0]);
  return fail(&err);
}
