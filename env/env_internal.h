/* env_internal.h - what the env/ files share. */
#ifndef CELL_ENV_INTERNAL_H
#define CELL_ENV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "env/env.h"

long long env_now_ms(void);
/* The lower layers of the rootfs, top first (malloc'd). */
int env_lowers(struct env *e, char ***lowers, size_t *n, struct cell_err *err);
void env_lowers_free(char **lowers, size_t n);
/* linux.cgroupsPath of the environment: /cellctl-<hash of the root>/NAME. */
int env_cgroups_path(const struct env *e, char *out, size_t n);

/* reboot = restart: the start's child stays to restart the environment
 * after a reboot inside (monitor.c). */
bool env_wants_monitor(const struct env *e);
void env_monitor(struct env *e, pid_t init) __attribute__((noreturn));

#endif
