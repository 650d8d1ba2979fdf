/* cellctl.h - what the `cellctl` verbs share: the global options and the
 * verb registry.  Each verb (or verb group: `image`, `net`, ...) is its own
 * file in cmd/cellctl/ and registers itself with CELLCTL_VERB; main.c only
 * parses the global options and dispatches.  The work is in the libraries
 * below (env/, images/, netns/, storage/, runtime/). */
#ifndef CELLCTL_H
#define CELLCTL_H

#include <stdbool.h>

#include "lib/error.h"

/* The global options: cellctl [--root DIR] [--json] [--debug] VERB ... */
struct cellctl_globals {
  const char *root;    /* everything cellctl keeps: images, environments (default /var/lib/cell) */
  const char *run_dir; /* runtime state: ROOT/run, or /run/cell when --root is not given */
  bool root_given;
  bool json;  /* verbs that print data print JSON */
  bool debug; /* debug logging */
};
extern struct cellctl_globals cg;

/* A verb: "create", or a two-word one in a group: "image pull", "net attach".
 * The verb's fn gets argv[0] = its last word; the return value is the exit
 * code (0 ok, 1 failed, 2 usage error).  usage is
 * one line ("image ls [--json]"; several lines for a group), help the
 * one-sentence summary printed by `cellctl --help`. */
struct cellctl_verb {
  const char *name;
  const char *usage;
  const char *help;
  int (*fn)(int argc, char **argv);
  struct cellctl_verb *next;
};
void cellctl_register(struct cellctl_verb *v);

/* CELLCTL_VERB(ident, "name", "usage", "help", fn): registers a verb when the
 * program starts (a constructor; the verb files are linked as objects). */
#define CELLCTL_VERB(id, name_, usage_, help_, fn_)                                      \
  static struct cellctl_verb cellctl_verb_##id = {name_, usage_, help_, fn_, 0};         \
  __attribute__((constructor)) static void cellctl_register_##id(void) {               \
    cellctl_register(&cellctl_verb_##id);                                              \
  }

struct cJSON;
/* Print j (pretty JSON, one document) on stdout and free it. */
void cellctl_print_json(struct cJSON *j);
/* Log err as the invocation's error; returns the exit code 1. */
int cellctl_fail(struct cell_err *err);
/* "VERB: MESSAGE (see `cellctl VERB --help`)" as the error; returns 2. */
int cellctl_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* true when argv (before a "--") asks for --help/-h. */
bool cellctl_wants_help(int argc, char **argv);
/* Prints "Usage: cellctl USAGE" for the verb named argv[0]; returns 0. */
int cellctl_print_usage(const char *name);

#endif
