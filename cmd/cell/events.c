/* events.c - `cell events`: the container's stats (and oom events), once
 * (--stats) or every --interval. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"

int cmd_events(int argc, char **argv) {
  static const struct option opts[] = {{"stats", no_argument, 0, 's'}, {"interval", required_argument, 0, 'i'}, {0, 0, 0, 0}};
  bool stats = false;
  double interval = 5;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c == 's') stats = true;
    else if (c == 'i') {
      char *end;
      interval = strtod(optarg, &end);
      if (end == optarg || interval <= 0) return usage_error(argv[0], "--interval: invalid duration \"%s\"", optarg);
      if (*end == 'm' && end[1] == 's') interval /= 1000;
      else if (*end == 'm') interval *= 60;
      else if (*end && *end != 's') return usage_error(argv[0], "--interval: invalid duration \"%s\"", optarg);
    } else return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  const char *id = argv[optind];
  unsigned long long last_oom = 0;
  bool first = true;
  for (;;) {
    struct cell_err err = {0};
    char *data;
    unsigned long long oom = 0;
    if (cell_container_stats(g.root, id, &data, &oom, &err) < 0) {
      if (!first && !stats) return 0; /* the container went away */
      return fail(&err);
    }
    if (!first && oom > last_oom) printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
    last_oom = oom;
    printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":%s}\n", id, data);
    fflush(stdout);
    free(data);
    if (stats) return 0;
    first = false;
    struct timespec ts = {(time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9)};
    nanosleep(&ts, NULL);
  }
}
