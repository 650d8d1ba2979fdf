/* env_internal.h - what the env/ files share. */
#ifndef CELL_ENV_INTERNAL_H
#define CELL_ENV_INTERNAL_H

#include <stddef.h>

#include "env/env.h"

long long env_now_ms(void);
/* The lower layers of the rootfs, top first (malloc'd). */
int env_lowers(struct env *e, char ***lowers, size_t *n, struct cell_err *err);
void env_lowers_free(char **lowers, size_t n);
/* linux.cgroupsPath of the environment: /cellctl-<hash of the root>/NAME. */
int env_cgroups_path(const struct env *e, char *out, size_t n);

#endif
