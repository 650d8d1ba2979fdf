/* env_set.c - `cellctl set NAME KEY=VALUE... [--no-save]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "lib/log.h"

static void note(const char *msg) { fprintf(stderr, "cellctl set: %s\n", msg); }

static int set_main(int argc, char **argv) {
  static const struct option opts[] = {{"no-save", no_argument, 0, 'n'}, {0, 0, 0, 0}};
  bool no_save = false;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (c == 'n') no_save = true;
    else return cellctl_usage("set", "invalid option %s", argv[optind - 1]);
  }
  /* --no-save may also follow the pairs */
  int n = 0;
  char *kv[128];
  if (optind >= argc) return cellctl_usage("set", "requires the environment's name and KEY=VALUE pairs");
  const char *name = argv[optind++];
  for (int i = optind; i < argc; i++) {
    if (!strcmp(argv[i], "--no-save")) no_save = true;
    else if (n < 128) kv[n++] = argv[i];
    else return cellctl_usage("set", "too many KEY=VALUE pairs");
  }
  if (n == 0) return cellctl_usage("set", "requires KEY=VALUE pairs");
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(name, &e, &err) < 0) return cellctl_fail(&err);
  int r = env_set(e, kv, n, no_save, note, &err);
  if (r < 0) cell_error_wrap(&err, "%s", e->cfg_path);
  env_close(e);
  return r < 0 ? cellctl_fail(&err) : 0;
}

CELLCTL_VERB(set, "set",
             "set NAME KEY=VALUE... [--no-save]\n"
             "  [env]    image rootfs init hostname privileged onboot boot-order cellfs\n"
             "  [limits] memory swap disk cpus cpu-weight cpuset pids io-weight io-read-bps io-write-bps\n"
             "           io-read-iops io-write-iops (applied live to a running environment;\n"
             "           disk grows only, online where the kernel allows it, else at the next start)",
             "change an environment's config: limits apply live; saved unless --no-save", set_main)
