/* start.c - `cell start`: run the user process of a created container. */
#include "cmd/cell/cmd.h"
#include "runtime/container.h"

int cmd_start(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, cmd_no_opts, "+", cmd_no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_start(g.root, id, &err) < 0 ? fail(&err) : 0;
}
