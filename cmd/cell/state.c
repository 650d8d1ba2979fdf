/* state.c - `cell state`: the container's state as runc prints it. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"

/* JSON with two-space indentation, as runc prints state. */
static void print_json(const cJSON *v, int depth) {
  if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
    bool obj = cJSON_IsObject(v);
    if (!v->child) {
      printf(obj ? "{}" : "[]");
      return;
    }
    printf(obj ? "{\n" : "[\n");
    for (const cJSON *c = v->child; c; c = c->next) {
      printf("%*s", (depth + 1) * 2, "");
      if (obj) {
        cJSON *tmp = cJSON_CreateString(c->string);
        char *key = cJSON_PrintUnformatted(tmp);
        printf("%s: ", key);
        free(key);
        cJSON_Delete(tmp);
      }
      print_json(c, depth + 1);
      printf(c->next ? ",\n" : "\n");
    }
    printf("%*s%s", depth * 2, "", obj ? "}" : "]");
    return;
  }
  char *t = cJSON_PrintUnformatted(v);
  printf("%s", t);
  free(t);
}

int cmd_state(int argc, char **argv) {
  const char *id;
  if (one_id(argc, argv, cmd_no_opts, "+", cmd_no_opt, &id)) return 1;
  struct cell_err err = {0};
  char *json;
  if (cell_container_state(g.root, id, &json, &err) < 0) return fail(&err);
  cJSON *o = cJSON_Parse(json);
  print_json(o, 0);
  printf("\n");
  cJSON_Delete(o);
  free(json);
  return 0;
}
