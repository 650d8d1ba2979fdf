/* idrange.h - per-environment user-namespace id ranges.
 *
 * Every environment gets a range of ENV_IDRANGE_SIZE (65,536) uids/gids that
 * overlaps no other environment's range nor any range in /etc/subuid or
 * /etc/subgid.  Ranges start at ENV_IDRANGE_FIRST (1,000,000,000) and are
 * recorded in ROOT/idranges, one "BASE NAME" line per environment, under an
 * flock(2) on the file; a rewrite is atomic (temp file + rename), so a
 * SIGKILL at any point leaves the old or the new file.  Entries whose base is
 * not aligned, out of bounds or duplicated make the file corrupt: the calls
 * fail with an error naming the file and line, never guess.
 */
#ifndef CELL_ENV_IDRANGE_H
#define CELL_ENV_IDRANGE_H

#include <stddef.h>

#include "lib/error.h"

#define ENV_IDRANGE_SIZE 65536u
#define ENV_IDRANGE_FIRST 1000000000u
/* The last id a range may reach (uid_t is 32 bits; (uid_t)-1 is invalid). */
#define ENV_IDRANGE_LIMIT 4294901760u

struct env_idrange {
  char name[256];
  unsigned base;
};

/* Allocates a range for NAME (or returns NAME's existing one: idempotent).
 * root: the cellctl root directory (the file is ROOT/idranges). */
int env_idrange_alloc(const char *root, const char *name, unsigned *base, struct cell_err *err);

/* Frees NAME's range; freeing a name that has none is not an error. */
int env_idrange_free(const char *root, const char *name, struct cell_err *err);

/* NAME's range: 0 and *base set, 1 when NAME has none, -1 on error. */
int env_idrange_get(const char *root, const char *name, unsigned *base, struct cell_err *err);

/* All allocations, sorted by base; *out is malloc'd (free()). */
int env_idrange_list(const char *root, struct env_idrange **out, size_t *n, struct cell_err *err);

/* Stale-entry repair: drops every entry for which `keep(name, data)`
 * returns 0 (keep NULL: whose ROOT/vps/NAME directory is missing); the count
 * removed goes to *removed (may be NULL). */
int env_idrange_prune(const char *root, int (*keep)(const char *name, void *data), void *data,
                      size_t *removed, struct cell_err *err);

/* The files whose ranges are never handed out (default /etc/subuid and
 * /etc/subgid; a missing file is empty).  For tests; NULL restores a default. */
void env_idrange_set_subid_files(const char *subuid, const char *subgid);

/* Attaches at DST (an existing directory) an idmapped copy of the tree at
 * SRC (recursive): host ids 0..count-1 in SRC show as base..base+count-1, so
 * the environment's root owns its rootfs without a chown.  DST may equal SRC
 * (the idmapped copy then covers it).  Needs the initial user namespace and
 * a filesystem that supports idmapped mounts (ext4, btrfs, xfs, tmpfs,
 * overlayfs on 6.x). */
int env_idrange_idmap_mount(const char *src, const char *dst, unsigned base, unsigned count, struct cell_err *err);

#endif
