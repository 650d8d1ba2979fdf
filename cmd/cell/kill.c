/* kill.c - `cell kill`: send a signal to the container (--all: every process). */
#include <signal.h>
#include <stdbool.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"

int cmd_kill(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'}, {0, 0, 0, 0}};
  bool all = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
    if (c == 'a') all = true;
    else return usage_error(argv[0], "invalid option");
  }
  if (optind >= argc || argc - optind > 2) return usage_error(argv[0], "usage: kill [--all] ID [SIGNAL]");
  const char *id = argv[optind];
  int sig = SIGTERM;
  if (argc - optind == 2 && (sig = parse_signal(argv[optind + 1])) < 0)
    return usage_error(argv[0], "unknown signal \"%s\"", argv[optind + 1]);
  struct cell_err err = {0};
  return cell_container_kill(g.root, id, sig, all, &err) < 0 ? fail(&err) : 0;
}
