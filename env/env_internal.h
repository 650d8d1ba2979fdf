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
/* host_mntns: the mount namespace the start ran in (the monitor returns to
 * it once the init is gone, so that repair and a restart see the disk mount
 * there and the start child's copy dies with its namespace), or -1. */
void env_monitor(struct env *e, pid_t init, int master, int host_mntns) __attribute__((noreturn));
/* console.c: serve the console master until the init exits (its wait status). */
int env_console_serve(struct env *e, pid_t init, int master, int logfd);

/* fsuid/fsgid to the range's root (on) or back to 0, capabilities kept. */
int env_as_range_root(unsigned base, bool on, struct cell_err *err);
/* net.c */
int env_net_check(const char *key, const char *value, struct cell_err *err);
int env_net_attach(struct env *e, pid_t pid, int netns_fd, unsigned base, bool privileged, struct cell_err *err);
int env_net_release(struct env *e, int netns_fd, struct cell_err *err);
void env_net_addresses(struct env *e, pid_t pid, cJSON *arr);

#endif
