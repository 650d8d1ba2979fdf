/* main.c - the `cellctl` command line: global options, the verb registry and
 * the help.  Each verb is its own file in cmd/cellctl/ (cellctl.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cgroups/cgroup.h"
#include "cmd/cellctl/cellctl.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/version.h"

struct cellctl_globals cg = {.root = "/var/lib/cell", .run_dir = "/run/cell"};
static struct cellctl_verb *verbs;

void cellctl_register(struct cellctl_verb *v) {
  /* keep the list sorted by name, so --help lists the verbs in order */
  struct cellctl_verb **p = &verbs;
  while (*p && strcmp((*p)->name, v->name) < 0) p = &(*p)->next;
  v->next = *p;
  *p = v;
}

static const struct cellctl_verb *find_verb(const char *name) {
  for (const struct cellctl_verb *v = verbs; v; v = v->next)
    if (!strcmp(v->name, name)) return v;
  return NULL;
}

void cellctl_print_json(cJSON *j) {
  char *s = cJSON_Print(j);
  if (s) puts(s);
  cJSON_free(s);
  cJSON_Delete(j);
}

int cellctl_fail(struct cell_err *err) {
  cell_log_fatal(err->msg[0] ? err->msg : "failed");
  return 1;
}

int cellctl_usage(const char *verb, const char *fmt, ...) {
  char msg[1024], line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(line, sizeof line, "%s: %s (see `cellctl %s --help`)", verb, msg, verb);
  cell_log_fatal(line);
  return 2;
}

bool cellctl_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
  }
  return false;
}

int cellctl_print_usage(const char *name) {
  const struct cellctl_verb *v = find_verb(name);
  if (!v) return 1;
  printf("Usage: cellctl %s\n\n%s\n", v->usage, v->help);
  return 0;
}

/* Is group the first word of a two-word verb ("image" of "image ls")? */
static bool has_group(const char *group) {
  size_t n = strlen(group);
  for (const struct cellctl_verb *v = verbs; v; v = v->next)
    if (!strncmp(v->name, group, n) && v->name[n] == ' ') return true;
  return false;
}

static void print_group(const char *group) {
  size_t n = strlen(group);
  printf("Usage: cellctl %s COMMAND ...\n\nCommands:\n", group);
  for (const struct cellctl_verb *v = verbs; v; v = v->next)
    if (!strncmp(v->name, group, n) && v->name[n] == ' ') printf("  %s\n      %s\n", v->usage, v->help);
}

static void print_help(void) {
  printf("cellctl - VPS-style environments on the cell runtime\n\n"
         "Usage: cellctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
         "Global options:\n"
         "  --root DIR   where cellctl keeps images and environments (default /var/lib/cell);\n"
         "               runtime state goes to DIR/run (default /run/cell)\n"
         "  --json       print data as JSON (verbs that print data)\n"
         "  --debug      debug logging\n"
         "  --version, --help\n\nCommands:\n");
  for (const struct cellctl_verb *v = verbs; v; v = v->next) printf("  %-16s %s\n", v->name, v->help);
  printf("\n`cellctl COMMAND --help` shows a command's options.\n");
}

static void cg_warn(const char *msg) { cell_warn("%s", msg); }

int main(int argc, char **argv) {
  static const struct option gopts[] = {{"root", required_argument, 0, 'r'}, {"json", no_argument, 0, 'j'},
                                        {"debug", no_argument, 0, 'D'},      {"version", no_argument, 0, 'v'},
                                        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
  static char runbuf[4096];
  int c;
  cell_log_set_prog("cellctl");
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+vh", gopts, NULL)) != -1) {
    switch (c) {
      case 'r': cg.root = optarg; cg.root_given = true; break;
      case 'j': cg.json = true; break;
      case 'D': cg.debug = true; break;
      case 'v': printf("cellctl version %s\ncommit: %s\n", CELL_VERSION, CELL_COMMIT); return 0;
      case 'h': print_help(); return 0;
      default:
        fprintf(stderr, "cellctl: unknown global option %s (see cellctl --help)\n", argv[optind - 1]);
        return 2;
    }
  }
  struct cell_err err = {0};
  if (!*cg.root) {
    fprintf(stderr, "cellctl: --root: empty path\n");
    return 2;
  }
  if (cg.root_given) {
    if (snprintf(runbuf, sizeof runbuf, "%s/run", cg.root) >= (int)sizeof runbuf) {
      fprintf(stderr, "cellctl: --root: path too long\n");
      return 2;
    }
    cg.run_dir = runbuf;
  }
  if (cell_log_open(NULL, 0, cg.debug, &err) < 0) {
    fprintf(stderr, "cellctl: %s\n", err.msg);
    return 1;
  }
  cell_cg_set_warn(cg_warn);
  if (optind >= argc) {
    print_help();
    return 2;
  }
  /* a two-word verb ("image pull") first, then a one-word one ("create") */
  const struct cellctl_verb *v = NULL;
  int words = 1;
  if (optind + 1 < argc && strlen(argv[optind]) + strlen(argv[optind + 1]) < 200) {
    char two[256];
    snprintf(two, sizeof two, "%s %s", argv[optind], argv[optind + 1]);
    if ((v = find_verb(two))) words = 2;
  }
  if (!v) v = find_verb(argv[optind]);
  if (!v && has_group(argv[optind]) &&
      (optind + 1 == argc || !strcmp(argv[optind + 1], "--help") || !strcmp(argv[optind + 1], "-h"))) {
    /* "cellctl image" or "cellctl image --help": the group's verbs */
    print_group(argv[optind]);
    return optind + 1 == argc ? 2 : 0;
  }
  if (!v) {
    if (has_group(argv[optind]))
      cell_error(&err, 0, "unknown command \"%s%s%s\" (see cellctl --help)", argv[optind],
                 optind + 1 < argc ? " " : "", optind + 1 < argc ? argv[optind + 1] : "");
    else
      cell_error(&err, 0, "unknown command \"%s\" (see cellctl --help)", argv[optind]);
    return cellctl_fail(&err);
  }
  /* the verb sees argv[0] = its last word */
  int vargc = argc - optind - (words - 1);
  char **vargv = argv + optind + (words - 1);
  if (cellctl_wants_help(vargc, vargv)) return cellctl_print_usage(v->name);
  return v->fn(vargc, vargv);
}
