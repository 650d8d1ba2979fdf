/* mounts.h - the container's filesystem: mounts resolved inside the rootfs
 * (openat2 RESOLVE_IN_ROOT, no symlink escape), /dev, pivot_root, masked and
 * read-only paths.  Runs in the container init, in its mount namespace. */
#ifndef CELL_MOUNTS_H
#define CELL_MOUNTS_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "runtime/spec.h"

/* Open `path` (absolute, inside the rootfs) relative to rootfd without leaving
 * the rootfs; optionally create missing components (directories, and the last
 * one as a file when as_file).  Returns an O_PATH fd. */
int cell_open_in_root(int rootfd, const char *path, bool create, bool as_file, struct cell_err *err);

/* Write n mappings to /proc/PID/FILE ("uid_map" or "gid_map") in one bounded
 * write; errors name `field` (e.g. "linux.uidMappings").  Shared by the
 * container's user namespace and idmapped mounts. */
int cell_idmap_write(pid_t pid, const char *file, const struct cell_idmap *m, size_t n, const char *field,
                     struct cell_err *err);

/* In the runtime, before clone: a user namespace fd for each idmapped mount. */
int cell_idmap_prepare(struct cell_spec *s, struct cell_err *err);

/* Everything before pivot_root: propagation, the rootfs bind, every mount,
 * devices and /dev links.  in_userns: devices are bind-mounted, not mknod'ed. */
/* before_cgroup runs once, before the first cgroup/cgroup2 mount (or after the
 * last mount when there is none): the init waits there for its cgroup
 * placement, so that most mount work overlaps the runtime's cgroup writes. */
typedef int (*cell_before_cgroup_fn)(void *arg, struct cell_err *err);
int cell_rootfs_mount_all(const struct cell_spec *s, bool in_userns, cell_before_cgroup_fn before_cgroup, void *arg,
                          struct cell_err *err);
/* Bind cellfs's views over /proc/meminfo etc. (fsview_bind.c). */
int cell_fsview_bind(const struct cell_spec *s, int rootfd, struct cell_err *err);
/* pivot_root (or chroot with no_pivot) into the rootfs. */
int cell_rootfs_pivot(const struct cell_spec *s, bool no_pivot, struct cell_err *err);
/* After pivot: sysctl, masked and read-only paths, read-only root.  Without a
 * /proc mount in the container it uses a private, unattached procfs. */
int cell_rootfs_finalize(const struct cell_spec *s, struct cell_err *err);
/* Open /proc/self/fd/FD with flags (e.g. O_WRONLY of an O_PATH fifo), also
 * when the container mounts no /proc (after cell_rootfs_finalize). */
int cell_detached_proc_fd(void);
int cell_reopen_fd(int fd, int flags, struct cell_err *err);

#endif
