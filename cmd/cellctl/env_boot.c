/* env_boot.c - `cellctl boot` (start the onboot environments, in boot-order)
 * and `cellctl shutdown` (stop every running environment, in parallel);
 * for the cellctl.service unit `make install` installs. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

struct boot_item {
  char *name;
  unsigned long order;
};

static int by_order(const void *a, const void *b) {
  const struct boot_item *x = a, *y = b;
  if (x->order != y->order) return x->order < y->order ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int boot_main(int argc, char **argv) {
  if (argc != 1) return cellctl_usage("boot", "takes no arguments");
  (void)argv;
  struct cell_err err = {0};
  char **names;
  size_t n, nb = 0;
  if (env_list_names(cg.root, &names, &n, &err) < 0) return cellctl_fail(&err);
  struct boot_item *items = calloc(n + 1, sizeof *items);
  for (size_t i = 0; i < n; i++) {
    struct env *e;
    if (envcmd_open(names[i], &e, &err) < 0) {
      fprintf(stderr, "cellctl boot: %s\n", err.msg);
      continue;
    }
    const char *ob = env_config_get(e->cfg, "onboot"), *bo = env_config_get(e->cfg, "boot-order");
    bool on = false;
    if (ob) env_parse_bool(ob, &on);
    if (on) items[nb++] = (struct boot_item){names[i], bo ? strtoul(bo, NULL, 10) : 0};
    env_close(e);
  }
  qsort(items, nb, sizeof *items, by_order);
  int failed = 0;
  for (size_t i = 0; i < nb; i++) {
    struct env *e = NULL;
    if (envcmd_open(items[i].name, &e, &err) < 0 || env_start(e, false, 120, &err) < 0) {
      if (!strstr(err.msg, "already running")) {
        fprintf(stderr, "cellctl boot: %s\n", err.msg);
        failed++;
      }
    } else {
      printf("started %s\n", items[i].name);
    }
    env_close(e);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(items);
  return failed ? 1 : 0;
}

static int shutdown_main(int argc, char **argv) {
  static const struct option opts[] = {{"timeout", required_argument, 0, 't'}, {0, 0, 0, 0}};
  int timeout = 60, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
    if (c == 't' && (timeout = envcmd_seconds(optarg)) >= 0) continue;
    return cellctl_usage("shutdown", "invalid option or value %s", argv[optind - 1]);
  }
  if (optind != argc) return cellctl_usage("shutdown", "takes no arguments");
  struct cell_err err = {0};
  char **names;
  size_t n;
  if (env_list_names(cg.root, &names, &n, &err) < 0) return cellctl_fail(&err);
  pid_t *kids = calloc(n + 1, sizeof *kids);
  for (size_t i = 0; i < n; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      struct env *e;
      if (env_open_lenient(cg.root, cg.run_dir, names[i], &e, &err) < 0) _exit(1);
      struct env_status st;
      if (env_status(e, &st, &err) == 0 && st.state == ENV_STOPPED && !st.leftover) _exit(0);
      bool clean;
      int r = env_stop(e, timeout, false, &clean, &err);
      if (r < 0) fprintf(stderr, "cellctl shutdown: %s\n", err.msg);
      else printf("%s: %s\n", names[i], clean ? "halted cleanly" : "killed");
      fflush(stdout);
      _exit(r < 0 ? 1 : 0);
    }
  }
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    int st = 0;
    if (kids[i] < 0 || waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) failed++;
    free(names[i]);
  }
  free(names);
  free(kids);
  return failed ? 1 : 0;
}

CELLCTL_VERB(boot, "boot", "boot", "start the environments marked onboot, lowest boot-order first", boot_main)
CELLCTL_VERB(shutdown, "shutdown", "shutdown [--timeout SECONDS (60)]",
             "stop every running environment (in parallel)", shutdown_main)
