/* cmd.h - what the `cell` verbs (one file each, cmd/cell/VERB.c) share: the
 * global options, the verb entry points and the argument helpers.  The verbs
 * parse their flags and call the runtime library; the work is below them. */
#ifndef CELL_CMD_H
#define CELL_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "lib/error.h"

/* The global options (cell --root ... VERB). */
struct cell_globals {
  const char *root;
  const char *log;
  int log_json;
  int debug;
  int systemd;
  int rootless;
  const char *cgroup_manager;
};
extern struct cell_globals g;

/* Log err as fatal; returns the exit code 1. */
int fail(struct cell_err *err);
/* "VERB: MESSAGE (see `cell VERB --help`)", logged as fatal; returns 1. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A count 0..65536 (--preserve-fds). */
int parse_int(const char *s, int *out);
/* A signal name (KILL, SIGKILL, RTMIN+3) or number; -1 if unknown. */
int parse_signal(const char *s);
/* Parse argv with opts (on() gets each option; < 0 rejects it) and exactly
 * one positional argument, the container id.  Returns 1 (reported) on error. */
int one_id(int argc, char **argv, const struct option *opts, const char *shortopts, int (*on)(int, const char *),
           const char **id);
/* For verbs without options: one_id(argc, argv, cmd_no_opts, "+", cmd_no_opt, &id). */
int cmd_no_opt(int c, const char *a);
extern const struct option cmd_no_opts[];

/* The verbs: argv[0] is the verb's name; the return value is the exit code. */
int cmd_create(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);

#endif
