/* storage_cmd.h - what the storage verbs (cmd/cellctl/storage_*.c:
 * snapshot, clone, export, import) share. */
#ifndef CELLCTL_STORAGE_CMD_H
#define CELLCTL_STORAGE_CMD_H

#include <stdbool.h>

#include "env/env.h"

/* An environment's own files held still for a copy: the disk attached when
 * it has one (and detached again by storcmd_release when this call attached
 * it), and, when it runs, its cgroup frozen (marker ROOT/vps/NAME/.frozen-by-
 * cellctl while frozen: a cellctl killed meanwhile leaves the marker, and
 * the next storage verb on the environment thaws it).  upper is the overlay's
 * upper dir. */
struct storcmd_hold {
  struct env *e;
  bool running, frozen, attached;
  char upper[4096 + 32];
};
int storcmd_hold(struct env *e, bool freeze, struct storcmd_hold *h, struct cell_err *err);
/* Thaws and detaches as needed; keeps the first error. */
int storcmd_release(struct storcmd_hold *h, struct cell_err *err);

/* A thaw left over by a killed cellctl (see above); 0 when none. */
int storcmd_repair(struct env *e, struct cell_err *err);

double storcmd_now(void);

#endif
