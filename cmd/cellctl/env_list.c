/* env_list.c - `cellctl list [--json] [-o COLUMNS]` and `cellctl show NAME [--json]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"
#include "storage/storage.h"

static const char *const all_cols[] = {"name", "state", "pid", "uptime", "memory", "cpu", "tasks", "addresses",
                                       "init", "privileged", "onboot", "image", NULL};

static void human_size(double b, char *out, size_t n) {
  const char *u[] = {"B", "K", "M", "G", "T"};
  int i = 0;
  while (b >= 1024 && i < 4) {
    b /= 1024;
    i++;
  }
  snprintf(out, n, i ? "%.1f%s" : "%.0f%s", b, u[i]);
}

static void column(const cJSON *j, const char *col, char *out, size_t n) {
  const cJSON *cfg = cJSON_GetObjectItem(j, "config");
  const cJSON *v;
  snprintf(out, n, "-");
  if (!strcmp(col, "name") || !strcmp(col, "state")) snprintf(out, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, col)));
  else if (!strcmp(col, "pid") && (v = cJSON_GetObjectItem(j, "pid")) && v->valuedouble > 0)
    snprintf(out, n, "%.0f", v->valuedouble);
  else if (!strcmp(col, "uptime") && (v = cJSON_GetObjectItem(j, "uptime"))) {
    long s = (long)v->valuedouble;
    if (s >= 86400) snprintf(out, n, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
    else snprintf(out, n, "%02ld:%02ld:%02ld", s / 3600, s % 3600 / 60, s % 60);
  } else if (!strcmp(col, "memory") && (v = cJSON_GetObjectItem(j, "memory_bytes"))) human_size(v->valuedouble, out, n);
  else if (!strcmp(col, "cpu") && (v = cJSON_GetObjectItem(j, "cpu_seconds"))) snprintf(out, n, "%.2fs", v->valuedouble);
  else if (!strcmp(col, "tasks") && (v = cJSON_GetObjectItem(j, "tasks"))) snprintf(out, n, "%.0f", v->valuedouble);
  else if (!strcmp(col, "addresses")) {
    const cJSON *a;
    size_t len = 0;
    out[0] = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "addresses")) len += snprintf(out + len, n - len, "%s%s", len ? "," : "", a->valuestring);
    if (!len) snprintf(out, n, "-");
  } else if (!strcmp(col, "image")) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "image"));
    if (!s) s = cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "rootfs"));
    if (s) snprintf(out, n, "%s", s);
  } else if (!strcmp(col, "memory") || !strcmp(col, "cpu") || !strcmp(col, "tasks") || !strcmp(col, "uptime") ||
             !strcmp(col, "pid")) {
    /* not running: "-" */
  } else if ((v = cJSON_GetObjectItem(cfg, col)) && cJSON_IsString(v)) snprintf(out, n, "%s", v->valuestring);
  else if (!strcmp(col, "privileged") || !strcmp(col, "onboot")) snprintf(out, n, "false");
}

static bool known_col(const char *c) {
  for (int i = 0; all_cols[i]; i++)
    if (!strcmp(all_cols[i], c)) return true;
  return false;
}

static cJSON *one(const char *name) {
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(name, &e, &err) < 0) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "state", "broken");
    cJSON_AddStringToObject(j, "error", err.msg);
    return j;
  }
  cJSON *j = env_info(e);
  env_close(e);
  return j;
}

static int list_main(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  bool json = cg.json;
  char *cols_s = NULL;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "jo:", opts, NULL)) != -1) {
    if (c == 'j') json = true;
    else if (c == 'o') cols_s = optarg;
    else return cellctl_usage("list", "invalid option %s", argv[optind - 1]);
  }
  if (optind != argc) return cellctl_usage("list", "takes no arguments");
  const char *cols[32];
  int ncol = 0;
  char colbuf[512];
  if (cols_s) {
    snprintf(colbuf, sizeof colbuf, "%s", cols_s);
    for (char *t = strtok(colbuf, ","); t; t = strtok(NULL, ",")) {
      if (!known_col(t)) return cellctl_usage("list", "-o: unknown column \"%s\"", t);
      if (ncol < 32) cols[ncol++] = t;
    }
  } else {
    static const char *const def[] = {"name", "state", "pid", "uptime", "memory", "cpu", "addresses"};
    for (size_t i = 0; i < sizeof def / sizeof *def; i++) cols[ncol++] = def[i];
  }
  struct cell_err err = {0};
  char **names;
  size_t n;
  if (env_list_names(cg.root, &names, &n, &err) < 0) return cellctl_fail(&err);
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON_AddItemToArray(arr, one(names[i]));
    free(names[i]);
  }
  free(names);
  if (json) {
    char *t = cJSON_Print(arr);
    printf("%s\n", t);
    free(t);
  } else {
    for (int k = 0; k < ncol; k++) {
      char up[32];
      snprintf(up, sizeof up, "%s", cols[k]);
      for (char *p = up; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
      printf(k + 1 < ncol ? "%-16s " : "%s\n", up);
    }
    const cJSON *j;
    cJSON_ArrayForEach(j, arr) {
      for (int k = 0; k < ncol; k++) {
        char v[1024];
        column(j, cols[k], v, sizeof v);
        printf(k + 1 < ncol ? "%-16s " : "%s\n", v);
      }
    }
  }
  cJSON_Delete(arr);
  return 0;
}

/* "storage     loop-ext4 64M (allocated 1.2M; 60M free of 62M; /dev/loop3); project quota: ..." */
static void show_storage(const cJSON *s) {
  const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(s, "error"));
  if (err) {
    printf("%-12s error: %s\n", "storage", err);
    return;
  }
  const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(s, "method"));
  const char *prj = cJSON_GetStringValue(cJSON_GetObjectItem(s, "project_quota"));
  const cJSON *size = cJSON_GetObjectItem(s, "size");
  char a[32], b[32], c[32], d[32];
  printf("%-12s %s", "storage", method ? method : "?");
  if (cJSON_IsNumber(size)) {
    printf(" %s (allocated %s", storage_format_size((uint64_t)size->valuedouble, a, sizeof a),
           storage_format_size((uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "allocated")), b, sizeof b));
    const cJSON *total = cJSON_GetObjectItem(s, "fs_total");
    if (cJSON_IsNumber(total))
      printf("; %s free of %s", storage_format_size((uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "fs_avail")), c, sizeof c),
             storage_format_size((uint64_t)total->valuedouble, d, sizeof d));
    const char *dev = cJSON_GetStringValue(cJSON_GetObjectItem(s, "loop_device"));
    printf("%s%s)", dev ? "; " : "", dev ? dev : "");
  }
  if (prj) printf("; project quota: %s", prj);
  printf("\n");
}

static int show_main(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
  bool json = cg.json;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
    if (c == 'j') json = true;
    else return cellctl_usage("show", "invalid option %s", argv[optind - 1]);
  }
  if (optind != argc - 1) return cellctl_usage("show", "requires exactly one argument: the environment's name");
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(argv[optind], &e, &err) < 0) return cellctl_fail(&err);
  cJSON *j = env_info(e);
  env_close(e);
  if (json) {
    char *t = cJSON_Print(j);
    printf("%s\n", t);
    free(t);
  } else {
    for (int i = 0; all_cols[i]; i++) {
      char v[1024];
      column(j, all_cols[i], v, sizeof v);
      printf("%-12s %s\n", all_cols[i], v);
    }
    const cJSON *kv;
    cJSON_ArrayForEach(kv, cJSON_GetObjectItem(j, "config")) {
      if (!strcmp(kv->string, "init") || !strcmp(kv->string, "privileged") || !strcmp(kv->string, "onboot") ||
          !strcmp(kv->string, "image"))
        continue;
      printf("%-12s %s\n", kv->string, kv->valuestring);
    }
    show_storage(cJSON_GetObjectItem(j, "storage"));
  }
  cJSON_Delete(j);
  return 0;
}

CELLCTL_VERB(list, "list",
             "list [--json] [-o COLUMNS]   (columns: name,state,pid,uptime,memory,cpu,tasks,addresses,init,\n"
             "       privileged,onboot,image)",
             "the environments: state, init pid, uptime, memory and CPU use", list_main)
CELLCTL_VERB(show, "show", "show NAME [--json]", "one environment: state, use and config", show_main)
