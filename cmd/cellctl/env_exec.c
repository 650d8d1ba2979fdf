/* env_exec.c - `cellctl exec NAME [-t] [-u USER] [-e K=V] -- CMD...` and
 * `cellctl enter NAME` (a login shell on a pty). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cellctl/cellctl.h"
#include "cmd/cellctl/env_cmd.h"

static int exec_main(int argc, char **argv) {
  static const struct option opts[] = {{"tty", no_argument, 0, 't'},
                                       {"user", required_argument, 0, 'u'},
                                       {"env", required_argument, 0, 'e'},
                                       {"cwd", required_argument, 0, 'w'},
                                       {0, 0, 0, 0}};
  struct env_exec_opts o = {0};
  char *envv[65];
  int nenv = 0, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+tu:e:w:", opts, NULL)) != -1) {
    switch (c) {
    case 't': o.tty = true; break;
    case 'u': o.user = optarg; break;
    case 'w': o.cwd = optarg; break;
    case 'e':
      if (!strchr(optarg, '=')) return cellctl_usage("exec", "-e: expected K=V, got \"%s\"", optarg);
      if (nenv == 64) return cellctl_usage("exec", "-e: at most 64");
      envv[nenv++] = optarg;
      break;
    default: return cellctl_usage("exec", "invalid option %s", argv[optind - 1]);
    }
  }
  envv[nenv] = NULL;
  if (optind >= argc) return cellctl_usage("exec", "requires the environment's name and a command");
  const char *name = argv[optind++];
  if (optind < argc && !strcmp(argv[optind], "--")) optind++;
  if (optind >= argc) return cellctl_usage("exec", "requires a command after the name");
  o.args = argv + optind;
  o.env = nenv ? envv : NULL;
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(name, &e, &err) < 0) return cellctl_fail(&err);
  /* the lock is not held while the command runs */
  int code = 0, r;
  struct env_status st;
  r = env_status(e, &st, &err);
  if (r == 0 && st.state != ENV_RUNNING) r = cell_error(&err, 0, "environment \"%s\" is not running", name);
  if (r == 0) {
    close(e->dirfd);
    e->dirfd = -1;
    r = env_exec(e, &o, &code, &err);
  }
  env_close(e);
  return r < 0 ? cellctl_fail(&err) : code;
}

static int enter_main(int argc, char **argv) {
  if (argc != 2) return cellctl_usage("enter", "requires exactly one argument: the environment's name");
  static char *shell[] = {"/bin/sh", "-c",
                          "if command -v login >/dev/null 2>&1 && [ -e /etc/passwd ] && command -v su >/dev/null; "
                          "then exec su -l root; fi; exec /bin/sh -l",
                          NULL};
  static char *envv[] = {"TERM=xterm", NULL};
  const char *term = getenv("TERM");
  static char termbuf[128];
  if (term && strlen(term) < 100) {
    snprintf(termbuf, sizeof termbuf, "TERM=%s", term);
    envv[0] = termbuf;
  }
  struct env_exec_opts o = {.args = shell, .env = envv, .tty = isatty(0) != 0, .cwd = "/root"};
  struct cell_err err = {0};
  struct env *e;
  if (envcmd_open(argv[1], &e, &err) < 0) return cellctl_fail(&err);
  int code = 0;
  close(e->dirfd);
  e->dirfd = -1;
  int r = env_exec(e, &o, &code, &err);
  if (r < 0 && strstr(err.msg, "/root")) {
    o.cwd = "/";
    r = env_exec(e, &o, &code, &err);
  }
  env_close(e);
  return r < 0 ? cellctl_fail(&err) : code;
}

CELLCTL_VERB(exec, "exec", "exec NAME [-t] [-u USER] [-e K=V]... [-w DIR] -- CMD [ARG...]",
             "run a command in an environment; exits with its exit code", exec_main)
CELLCTL_VERB(enter, "enter", "enter NAME",
             "a login shell in an environment (a pty, all its namespaces, its cgroup)", enter_main)
