/* update.c - `cell update`: change a running container's resources from
 * flags or a --resources file (runtime/update.c does the work). */
#include <cjson/cJSON.h>

#include "cmd/cell/cmd.h"
#include "runtime/update.h"

int cmd_update(int argc, char **argv) {
  static const struct option opts[] = {
      {"resources", required_argument, 0, 'r'}, {"memory", required_argument, 0, 'm'},
      {"memory-reservation", required_argument, 0, 'R'}, {"memory-swap", required_argument, 0, 's'},
      {"cpu-shares", required_argument, 0, 'S'}, {"cpu-quota", required_argument, 0, 'q'},
      {"cpu-period", required_argument, 0, 'p'}, {"cpuset-cpus", required_argument, 0, 'c'},
      {"cpuset-mems", required_argument, 0, 'M'}, {"pids-limit", required_argument, 0, 'P'},
      {"blkio-weight", required_argument, 0, 'b'}, {"kernel-memory", required_argument, 0, 'k'},
      {"kernel-memory-tcp", required_argument, 0, 'K'}, {"cpu-rt-period", required_argument, 0, 'T'},
      {"cpu-rt-runtime", required_argument, 0, 'U'}, {"l3-cache-schema", required_argument, 0, 'L'},
      {"mem-bw-schema", required_argument, 0, 'B'}, {0, 0, 0, 0}};
  struct cell_update_flags f = {0};
  struct cell_err err = {0};
  int c, li;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+r:", opts, &li)) != -1) {
    if (c == 'r') f.resources = optarg;
    else if (c == '?' || c == ':') return usage_error(argv[0], "invalid option");
    else if (cell_update_flags_add(&f, opts[li].name, optarg, &err) < 0) return usage_error(argv[0], "%s", err.msg);
  }
  /* the flags' values are checked before the arguments, as they always were */
  cJSON *res;
  int r = cell_update_resources_from_flags(&f, &res, &err);
  if (r == CELL_UPDATE_BAD_VALUE) return usage_error(argv[0], "%s", err.msg);
  if (r < 0) return fail(&err);
  cJSON_Delete(res);
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  return cell_update_apply(g.root, argv[optind], &f, &err) < 0 ? fail(&err) : 0;
}
