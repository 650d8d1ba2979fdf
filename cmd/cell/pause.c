/* pause.c - `cell pause` and `cell resume`: freeze and thaw the container's cgroup. */
#include "cmd/cell/cmd.h"
#include "runtime/container.h"

int cmd_pause(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, cmd_no_opts, "+", cmd_no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_pause(g.root, id, true, &err) < 0 ? fail(&err) : 0;
}

int cmd_resume(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, cmd_no_opts, "+", cmd_no_opt, &id)) return 1;
  struct cell_err err = {0};
  return cell_container_pause(g.root, id, false, &err) < 0 ? fail(&err) : 0;
}
