/* path.h - resolve a path inside a root directory without escaping it.
 *
 * The root is a directory fd; the path is resolved as if that directory were
 * "/": ".." at the root stays at the root, absolute symlinks restart at the
 * root, and no symlink leads outside. openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) does it in the kernel; where openat2 is missing
 * (ENOSYS) or filtered (EPERM), a component-by-component walk in user space
 * (O_NOFOLLOW at every step, symlinks spliced in by hand) does the same. */
#ifndef CELL_PATH_H
#define CELL_PATH_H

#include <linux/openat2.h> /* RESOLVE_* */

/* openat2(2) with only flags and resolve set; -1 with errno. */
int cell_openat2(int dirfd, const char *path, int flags, unsigned long long resolve);

/* Open path inside rootfd (flags as for openat; O_CLOEXEC is added). The fd,
 * or -1 with errno (ENOENT, ELOOP past 40 symlinks, ENOTDIR, ...). */
int cell_path_open_in_root(int rootfd, const char *path, int flags);

/* The user-space walk alone (what cell_path_open_in_root falls back to). */
int cell_path_open_in_root_walk(int rootfd, const char *path, int flags);

#endif
