/* seccomp_cache.h - compiled seccomp filters reused across creates and execs
 * (ROOT/.seccomp; see seccomp_cache.c for the format and the checks). */
#ifndef CELL_SECCOMP_CACHE_H
#define CELL_SECCOMP_CACHE_H

#include <cjson/cJSON.h>
#include <linux/filter.h>
#include <stddef.h>

#include "lib/error.h"

struct cell_seccomp;

/* cell_seccomp_build() through the cache of the state root ROOT (NULL: no
 * cache).  Same results and errors as cell_seccomp_build(). */
int cell_seccomp_build_cached(const cJSON *seccomp, const char *root, struct cell_seccomp **out,
                              struct cell_err *err);

/* For the cache (seccomp.c): a filter from a stored program (the listener
 * fields are read from SECCOMP again), and a filter's program and flags. */
struct cell_seccomp *cell_seccomp_from_bpf(const cJSON *seccomp, const struct sock_filter *prog, size_t len,
                                           unsigned int flags, int uses_notify, struct cell_err *err);
const struct sock_filter *cell_seccomp_bpf(const struct cell_seccomp *s, unsigned int *flags);

#endif
