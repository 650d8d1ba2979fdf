/* ps.c - `cell ps`: the container's processes (runtime/ps.c does the work). */
#include <stdbool.h>
#include <string.h>

#include "cmd/cell/cmd.h"
#include "runtime/ps.h"

int cmd_ps(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {0, 0, 0, 0}};
  const char *format = "table";
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
    if (c == 'f') format = optarg;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind >= argc) return usage_error(argv[0], "requires the container id");
  if (strcmp(format, "table") && strcmp(format, "json")) return usage_error(argv[0], "invalid format \"%s\"", format);
  struct cell_err err = {0};
  if (cell_ps_print(g.root, argv[optind], !strcmp(format, "json"), argv + optind + 1, argc - optind - 1, &err) < 0)
    return fail(&err);
  return 0;
}
