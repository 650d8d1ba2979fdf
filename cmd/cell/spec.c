/* spec.c - `cell spec`: write a default config.json into the bundle. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cell/cmd.h"
#include "runtime/spec.h"

int cmd_spec(int argc, char **argv) {
  static const struct option opts[] = {{"bundle", required_argument, 0, 'b'}, {"rootless", no_argument, 0, 'r'}, {0, 0, 0, 0}};
  const char *bundle = ".";
  bool rootless = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
    if (c == 'b') bundle = optarg;
    else if (c == 'r') rootless = true;
    else return usage_error(argv[0], "invalid option");
  }
  struct cell_err err = {0};
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  if (access(path, F_OK) == 0) {
    cell_error(&err, 0, "File %s exists. Remove it first", path);
    return fail(&err);
  }
  char *text = cell_spec_default(rootless || g.rootless);
  FILE *f = fopen(path, "wx");
  if (!f) {
    free(text);
    cell_error(&err, errno, "write %s", path);
    return fail(&err);
  }
  fprintf(f, "%s\n", text);
  fclose(f);
  free(text);
  return 0;
}
