/* exec.c - `cell exec`: run a new process in a running container. */
#include <stdbool.h>
#include <stdlib.h>

#include "cmd/cell/cmd.h"
#include "runtime/container.h"
#include "runtime/spec.h"

static char **push(char **v, size_t *n, const char *s) {
  v = realloc(v, (*n + 2) * sizeof *v);
  v[(*n)++] = (char *)s;
  v[*n] = NULL;
  return v;
}

int cmd_exec(int argc, char **argv) {
  struct cell_exec_opts o = {.root = g.root};
  static const struct option opts[] = {
      {"process", required_argument, 0, 'p'}, {"tty", no_argument, 0, 't'}, {"env", required_argument, 0, 'e'},
      {"cwd", required_argument, 0, 'w'}, {"user", required_argument, 0, 'u'}, {"cap", required_argument, 0, 'c'},
      {"no-new-privs", no_argument, 0, 'N'}, {"detach", no_argument, 0, 'd'}, {"pid-file", required_argument, 0, 'P'},
      {"console-socket", required_argument, 0, 'C'}, {"preserve-fds", required_argument, 0, 'f'},
      {"process-label", required_argument, 0, 'l'}, {"apparmor", required_argument, 0, 'a'},
      {"additional-gids", required_argument, 0, 'g'}, {"ignore-paused", no_argument, 0, 'i'},
      {"cgroup", required_argument, 0, 'G'}, {0, 0, 0, 0}};
  char **env = NULL, **caps = NULL;
  size_t nenv = 0, ncaps = 0;
  const char *process = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+p:te:w:u:c:dg:", opts, NULL)) != -1) {
    switch (c) {
      case 'p': process = optarg; break;
      case 't': o.tty = true; break;
      case 'e': env = push(env, &nenv, optarg); break;
      case 'w': o.cwd = optarg; break;
      case 'u': o.user = optarg; break;
      case 'c': caps = push(caps, &ncaps, optarg); break;
      case 'N': o.no_new_privs = true; break;
      case 'd': o.detach = true; break;
      case 'P': o.pid_file = optarg; break;
      case 'C': o.console_socket = optarg; break;
      case 'f':
        if (parse_int(optarg, &o.preserve_fds) < 0) return usage_error(argv[0], "--preserve-fds: invalid number");
        break;
      case 'l': case 'a': case 'g': case 'i': case 'G': break;
      default: free(env); free(caps); return usage_error(argv[0], "invalid option");
    }
  }
  o.env = env;
  o.caps = caps;
  if (optind >= argc) {
    free(env);
    free(caps);
    return usage_error(argv[0], "requires the container id");
  }
  o.id = argv[optind++];
  struct cell_err err = {0};
  char *text = NULL;
  if (process) {
    text = cell_read_file(process, NULL, &err);
    if (!text) {
      free(env);
      free(caps);
      cell_error_wrap(&err, "--process");
      return fail(&err);
    }
    o.process_json = text;
  } else {
    if (optind >= argc) {
      free(env);
      free(caps);
      return usage_error(argv[0], "requires a command to run (or --process)");
    }
    o.args = argv + optind;
  }
  int code = 0;
  int r = cell_container_exec(&o, &code, &err);
  free(text);
  free(env);
  free(caps);
  if (r < 0) return fail(&err);
  return code;
}
