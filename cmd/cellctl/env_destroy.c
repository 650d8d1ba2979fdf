/* env_destroy.c - `cellctl destroy NAME [--force]`. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

static int destroy_main(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  bool force = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
    if (c == 'f') force = true;
    else return cellctl_usage("destroy", "invalid option %s", argv[optind - 1]);
  }
  if (optind != argc - 1) return cellctl_usage("destroy", "requires exactly one argument: the environment's name");
  struct cell_err err = {0};
  struct env *e;
  if (env_open_lenient(cg.root, cg.run_dir, argv[optind], &e, &err) < 0) return cellctl_fail(&err);
  if (env_destroy(e, force, &err) < 0) return cellctl_fail(&err);
  if (!cg.json) printf("destroyed %s\n", argv[optind]);
  return 0;
}

CELLCTL_VERB(destroy, "destroy", "destroy NAME [--force]",
             "remove an environment and everything it holds on the host (--force: stop it first)", destroy_main)
