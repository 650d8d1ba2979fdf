/* env_cmd.h - what the environment verbs (cmd/cellctl/env_*.c) share. */
#ifndef CELLCTL_ENV_CMD_H
#define CELLCTL_ENV_CMD_H

#include "env/env.h"

/* env_open on cg.root/cg.run_dir. */
int envcmd_open(const char *name, struct env **e, struct cell_err *err);
/* A positive number of seconds for --timeout; -1 when invalid. */
int envcmd_seconds(const char *s);

#endif
