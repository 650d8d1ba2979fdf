/* main.c - the `cell` command line (runc-compatible): the global options,
 * the table of verbs and the help.  Each verb is its own file in cmd/cell/
 * (cmd.h); the work is done by the runtime library below them. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "cgroups/cgroup.h"
#include "cmd/cell/cmd.h"
#include "runtime/container.h"
#include "lib/error.h"
#include "lib/log.h"

#include "lib/version.h"

struct command {
  const char *name;
  const char *usage;
  int (*fn)(int argc, char **argv);
};

static int wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    if (argv[i][0] != '-') break;
  }
  return 0;
}

static const struct command commands[] = {
    {"create", "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID", cmd_create},
    {"start", "start ID", cmd_start},
    {"run", "run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-pivot] ID", cmd_run},
    {"exec", "exec [--process FILE] [--tty] [--env K=V] [--cwd DIR] [--user UID[:GID]] [--cap CAP] [--no-new-privs] [--detach] [--pid-file F] [--console-socket S] [--preserve-fds N] ID [COMMAND ARGS...]", cmd_exec},
    {"kill", "kill [--all] ID [SIGNAL]   (default SIGTERM; names or numbers)", cmd_kill},
    {"delete", "delete [--force] ID", cmd_delete},
    {"state", "state ID", cmd_state},
    {"list", "list [--format table|json] [--quiet]", cmd_list},
    {"ps", "ps [--format table|json] ID [PS-ARGS...]", cmd_ps},
    {"pause", "pause ID", cmd_pause},
    {"resume", "resume ID", cmd_resume},
    {"update", "update [--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] [--blkio-weight N] ID", cmd_update},
    {"events", "events [--stats] [--interval 5s] ID", cmd_events},
    {"spec", "spec [--bundle DIR] [--rootless]", cmd_spec},
    {"features", "features", cmd_features},
    {"checkpoint", "checkpoint [options] ID   (not supported)", cmd_checkpoint},
    {"restore", "restore [options] ID   (not supported)", cmd_checkpoint},
};

static void print_help(void) {
  printf("cell - an OCI container runtime (runc-compatible command line)\n\n"
         "Usage: cell [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
         "Global options:\n"
         "  --root DIR              state directory (default /run/cell)\n"
         "  --log FILE              log file\n"
         "  --log-format text|json  log format (default text)\n"
         "  --debug                 debug logging\n"
         "  --systemd-cgroup        use the systemd cgroup manager (needs a running systemd)\n"
         "  --cgroup-manager M      cgroupfs, systemd or disabled\n"
         "  --rootless true|false|auto\n"
         "  --version, --help\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) printf("  %s\n", commands[i].usage);
}

/* cgroup warnings (fields ignored on this cgroup version) go to the logger. */
static void cg_warn(const char *msg) { cell_warn("%s", msg); }

static bool systemd_running(void) {
  struct stat sb;
  return stat("/run/systemd/system", &sb) == 0 && S_ISDIR(sb.st_mode);
}

int main(int argc, char **argv) {
  static const struct option gopts[] = {
      {"root", required_argument, 0, 'r'}, {"log", required_argument, 0, 'l'},
      {"log-format", required_argument, 0, 'f'}, {"debug", no_argument, 0, 'D'},
      {"systemd-cgroup", no_argument, 0, 's'}, {"cgroup-manager", required_argument, 0, 'c'},
      {"rootless", required_argument, 0, 'R'}, {"version", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'}, {"criu", required_argument, 0, 'C'}, {0, 0, 0, 0}};
  int c;
  bool root_given = false;
  const char *log_format = "text";
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+vh", gopts, NULL)) != -1) {
    switch (c) {
      case 'r': g.root = optarg; root_given = true; break;
      case 'l': g.log = optarg; break;
      case 'f': log_format = optarg; break;
      case 'D': g.debug = 1; break;
      case 's': g.systemd = 1; break;
      case 'c': g.cgroup_manager = optarg; break;
      case 'R': g.rootless = !strcmp(optarg, "true"); break;
      case 'C': break;
      case 'v':
        {
          const struct scmp_version *sv = seccomp_version();
          printf("cell version %s\ncommit: %s\nspec: 1.2.0\nlibseccomp: %u.%u.%u\n", CELL_VERSION, CELL_COMMIT,
                 sv ? sv->major : 0, sv ? sv->minor : 0, sv ? sv->micro : 0);
        }
        return 0;
      case 'h': print_help(); return 0;
      default:
        fprintf(stderr, "cell: unknown global option %s\n", argv[optind - 1]);
        return 1;
    }
  }
  struct cell_err err = {0};
  if (!root_given && geteuid() != 0) {
    /* rootless: a state root the user owns, as runc uses $XDG_RUNTIME_DIR/runc */
    static char rootbuf[4096];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) snprintf(rootbuf, sizeof rootbuf, "%s/cell", xdg);
    else snprintf(rootbuf, sizeof rootbuf, "/tmp/cell-%u", (unsigned)geteuid());
    g.root = rootbuf;
  }
  if (strcmp(log_format, "text") && strcmp(log_format, "json")) {
    fprintf(stderr, "cell: --log-format: unknown format \"%s\" (text or json)\n", log_format);
    return 1;
  }
  if (cell_log_open(g.log, !strcmp(log_format, "json"), g.debug, &err) < 0) {
    fprintf(stderr, "cell: %s\n", err.msg);
    return 1;
  }
  cell_cg_set_warn(cg_warn);
  if (optind >= argc) {
    print_help();
    return 1;
  }
  const char *name = argv[optind];
  const struct command *cmd = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(commands[i].name, name)) cmd = &commands[i];
  if (!cmd) {
    cell_error(&err, 0, "unknown command \"%s\" (see cell --help)", name);
    return fail(&err);
  }
  int cargc = argc - optind;
  char **cargv = argv + optind;
  if (wants_help(cargc, cargv)) {
    printf("Usage: cell %s\n", cmd->usage);
    return 0;
  }
  if (g.cgroup_manager && strcmp(g.cgroup_manager, "cgroupfs") && strcmp(g.cgroup_manager, "systemd") &&
      strcmp(g.cgroup_manager, "disabled")) {
    cell_error(&err, 0, "--cgroup-manager: unknown manager \"%s\" (cgroupfs, systemd or disabled)", g.cgroup_manager);
    return fail(&err);
  }
  if ((g.systemd || (g.cgroup_manager && !strcmp(g.cgroup_manager, "systemd"))) && !systemd_running() &&
      (!strcmp(name, "create") || !strcmp(name, "run"))) {
    cell_error(&err, 0, "systemd cgroup manager requested (--systemd-cgroup) but systemd is not running on this host");
    return fail(&err);
  }
  if (!strcmp(name, "create") || !strcmp(name, "run") || !strcmp(name, "exec")) {
    if (cell_protect_self_exe(argv, &err) < 0) return fail(&err);
  }
  return cmd->fn(cargc, cargv);
}
