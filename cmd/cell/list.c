/* list.c - `cell list`: the containers under --root, as a table, JSON or ids. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"
#include "runtime/state.h"

int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
  const char *format = "table";
  bool quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
    if (c == 'f') format = optarg;
    else if (c == 'q') quiet = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (strcmp(format, "table") && strcmp(format, "json")) return usage_error(argv[0], "invalid format \"%s\"", format);
  struct cell_err err = {0};
  struct cell_state *sts;
  enum cell_status *ss;
  size_t n;
  if (cell_container_list(g.root, &sts, &ss, &n, &err) < 0) return fail(&err);
  if (quiet) {
    for (size_t i = 0; i < n; i++) printf("%s\n", sts[i].id);
  } else if (!strcmp(format, "json")) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
      char *j = cell_state_json(&sts[i], ss[i]);
      cJSON_AddItemToArray(arr, cJSON_Parse(j));
      free(j);
    }
    char *t = cJSON_PrintUnformatted(arr);
    printf("%s\n", t);
    free(t);
    cJSON_Delete(arr);
  } else {
    printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (size_t i = 0; i < n; i++)
      printf("%-12s %-8d %-10s %-40s %-30s %s\n", sts[i].id, ss[i] == CELL_STOPPED ? 0 : (int)sts[i].pid,
             cell_status_name(ss[i]), sts[i].bundle ? sts[i].bundle : "", sts[i].created ? sts[i].created : "",
             sts[i].owner == 0 ? "root" : "user");
  }
  for (size_t i = 0; i < n; i++) cell_state_free(&sts[i]);
  free(sts);
  free(ss);
  return 0;
}
