/* env_lifecycle.c - `cellctl start|stop|restart NAME`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

struct lc_opts {
  bool wait, force;
  int timeout;
};

static int parse(const char *verb, int argc, char **argv, struct lc_opts *o, int def_timeout) {
  static const struct option opts[] = {{"wait", no_argument, 0, 'w'},
                                       {"timeout", required_argument, 0, 't'},
                                       {"force", no_argument, 0, 'f'},
                                       {0, 0, 0, 0}};
  o->wait = o->force = false;
  o->timeout = def_timeout;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "wft:", opts, NULL)) != -1) {
    switch (c) {
    case 'w': o->wait = true; break;
    case 'f': o->force = true; break;
    case 't':
      if ((o->timeout = envcmd_seconds(optarg)) < 0)
        return cellctl_usage(verb, "--timeout: invalid value \"%s\" (seconds)", optarg);
      break;
    default: return cellctl_usage(verb, "invalid option %s", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cellctl_usage(verb, "requires exactly one argument: the environment's name");
  return 0;
}

static int do_stop(struct env *e, const struct lc_opts *o) {
  struct cell_err err = {0};
  bool clean;
  if (env_stop(e, o->timeout, o->force, &clean, &err) < 0) return cellctl_fail(&err);
  printf("%s: %s\n", e->name, clean ? "halted cleanly" : "killed");
  return 0;
}

static int start_main(int argc, char **argv) {
  struct lc_opts o;
  int r = parse("start", argc, argv, &o, 120);
  if (r) return r;
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(argv[optind], &e, &err) < 0) return cellctl_fail(&err);
  r = env_start(e, o.wait, o.timeout, &err);
  env_close(e);
  return r < 0 ? cellctl_fail(&err) : 0;
}

static int stop_main(int argc, char **argv) {
  struct lc_opts o;
  int r = parse("stop", argc, argv, &o, 60);
  if (r) return r;
  struct cell_err err = {0};
  struct env *e;
  if (env_open_lenient(cg.root, cg.run_dir, argv[optind], &e, &err) < 0) return cellctl_fail(&err);
  r = do_stop(e, &o);
  env_close(e);
  return r;
}

static int restart_main(int argc, char **argv) {
  struct lc_opts o;
  int r = parse("restart", argc, argv, &o, 60);
  if (r) return r;
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(argv[optind], &e, &err) < 0) return cellctl_fail(&err);
  r = do_stop(e, &o);
  if (r == 0 && env_start(e, o.wait, o.timeout > 0 ? o.timeout : 120, &err) < 0) r = cellctl_fail(&err);
  env_close(e);
  return r;
}

CELLCTL_VERB(start, "start", "start NAME [--wait] [--timeout SECONDS (120)]",
             "boot an environment; --wait returns when its init is ready", start_main)
CELLCTL_VERB(stop, "stop", "stop NAME [--timeout SECONDS (60)] [--force]",
             "halt an environment's init cleanly; kill it after the timeout", stop_main)
CELLCTL_VERB(restart, "restart", "restart NAME [--wait] [--timeout SECONDS (60)] [--force]",
             "stop then start an environment", restart_main)
