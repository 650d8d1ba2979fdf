/* create.c - `cell create` and `cell run`: the bundle's container created
 * (run: also started, waited for and, unless --keep, deleted). */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"

static int cmd_create_run(int argc, char **argv, bool run) {
  struct cell_create_opts o = {.root = g.root, .bundle = "."};
  bool detach = false, keep = false;
  static const struct option opts[] = {
      {"bundle", required_argument, 0, 'b'}, {"pid-file", required_argument, 0, 'p'},
      {"console-socket", required_argument, 0, 'c'}, {"preserve-fds", required_argument, 0, 'f'},
      {"no-pivot", no_argument, 0, 'P'}, {"no-new-keyring", no_argument, 0, 'K'},
      {"detach", no_argument, 0, 'd'}, {"keep", no_argument, 0, 'k'},
      {"no-subreaper", no_argument, 0, 'S'}, {"systemd-cgroup", no_argument, 0, 's'}, {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+b:dp:", opts, NULL)) != -1) {
    switch (c) {
      case 'b': o.bundle = optarg; break;
      case 'p': o.pid_file = optarg; break;
      case 'c': o.console_socket = optarg; break;
      case 'f':
        if (parse_int(optarg, &o.preserve_fds) < 0) return usage_error(argv[0], "--preserve-fds: invalid number \"%s\"", optarg);
        break;
      case 'P': o.no_pivot = true; break;
      case 'K': o.no_new_keyring = true; break;
      case 'd':
        if (!run) return usage_error(argv[0], "unknown option -d");
        detach = true;
        break;
      case 'k': keep = true; break;
      case 'S': break;
      case 's': g.systemd = 1; break;
      default: return usage_error(argv[0], "invalid option");
    }
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  o.id = argv[optind];
  char pidbuf[PATH_MAX];
  if (o.pid_file && o.pid_file[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) {
      snprintf(pidbuf, sizeof pidbuf, "%s/%s", cwd, o.pid_file);
      o.pid_file = pidbuf;
    }
  }
  if (g.cgroup_manager && !strcmp(g.cgroup_manager, "disabled")) o.no_cgroups = true;
  struct cell_err err = {0};
  if (run) {
    int code = 0;
    if (cell_container_run(&o, detach, keep, &code, &err) < 0) return fail(&err);
    return code;
  }
  struct cell_created cr;
  if (cell_container_create(&o, &cr, &err) < 0) return fail(&err);
  return 0;
}

int cmd_create(int argc, char **argv) { return cmd_create_run(argc, argv, false); }
int cmd_run(int argc, char **argv) { return cmd_create_run(argc, argv, true); }
