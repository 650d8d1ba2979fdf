/* env_console.c - `cellctl console NAME`: the init's console; Ctrl-] detaches. */
#include <stdio.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

static int console_main(int argc, char **argv) {
  if (argc != 2) return cellctl_usage("console", "requires exactly one argument: the environment's name");
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(argv[1], &e, &err) < 0) return cellctl_fail(&err);
  /* the lock is not held while attached */
  close(e->dirfd);
  e->dirfd = -1;
  if (isatty(0)) fprintf(stderr, "[console of %s: Ctrl-] detaches]\r\n", argv[1]);
  int r = env_console_attach(e, 0x1d, &err);
  env_close(e);
  return r < 0 ? cellctl_fail(&err) : 0;
}

CELLCTL_VERB(console, "console", "console NAME", "attach to an environment's console (Ctrl-] detaches)", console_main)
