/* delete.c - `cell delete`: remove a stopped (--force: any) container. */
#include <stdbool.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"

int cmd_delete(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  bool force = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
    if (c == 'f') force = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  struct cell_err err = {0};
  return cell_container_delete(g.root, argv[optind], force, &err) < 0 ? fail(&err) : 0;
}
