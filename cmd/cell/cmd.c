/* cmd.c - the helpers the `cell` verbs share (see cmd.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/cell/cmd.h"
#include "lib/log.h"

struct cell_globals g = {.root = "/run/cell"};

int fail(struct cell_err *err) {
  cell_log_fatal(err->msg);
  return 1;
}

int usage_error(const char *cmd, const char *fmt, ...) {
  struct cell_err err;
  char m[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  cell_error(&err, 0, "%s: %s (see `cell %s --help`)", cmd, m, cmd);
  return fail(&err);
}

int parse_int(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 65536) return -1;
  *out = (int)v;
  return 0;
}

static const struct {
  const char *name;
  int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
               {"ABRT", SIGABRT}, {"IOT", SIGIOT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
               {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
               {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
               {"POLL", SIGPOLL}, {"PWR", SIGPWR},   {"SYS", SIGSYS}};

int parse_signal(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end != s && !*end) return v > 0 && v < 65 ? (int)v : -1;
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (!strcasecmp(s, signals[i].name)) return signals[i].sig;
  if (!strncasecmp(s, "RTMIN", 5)) {
    long off = s[5] == '+' ? strtol(s + 6, NULL, 10) : 0;
    return SIGRTMIN + (int)off <= SIGRTMAX ? SIGRTMIN + (int)off : -1;
  }
  if (!strncasecmp(s, "RTMAX", 5)) {
    long off = s[5] == '-' ? strtol(s + 6, NULL, 10) : 0;
    return SIGRTMAX - (int)off >= SIGRTMIN ? SIGRTMAX - (int)off : -1;
  }
  return -1;
}

int one_id(int argc, char **argv, const struct option *opts, const char *shortopts, int (*on)(int, const char *),
                  const char **id) {
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
    if (c == '?' || on(c, optarg) < 0) return usage_error(argv[0], "invalid option");
  }
  if (optind != argc - 1) return usage_error(argv[0], "requires exactly one argument: the container id");
  *id = argv[optind];
  return 0;
}

int cmd_no_opt(int c, const char *a) {
  (void)c;
  (void)a;
  return -1;
}

const struct option cmd_no_opts[] = {{0, 0, 0, 0}};
