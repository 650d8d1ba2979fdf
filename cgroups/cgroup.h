/* cgroup.h - container cgroup placement, freezing, killing and resources.
 *
 * Layouts: unified (pure cgroup v2 at /sys/fs/cgroup), hybrid (v1 controller
 * hierarchies plus a controller-less cgroup2 at /sys/fs/cgroup/unified) and
 * legacy (v1 only).
 *
 * Path choice (linux.cgroupsPath):
 *   - absolute "/a/b": below the root of every hierarchy (its mount root);
 *   - relative "a/b": below the calling process's own cgroup in each
 *     hierarchy, as read from /proc/self/cgroup;
 *   - NULL or "": relative "<id>" (what runc's cgroupfs driver does);
 *   - "slice:prefix:name" (systemd style): only when systemd is running
 *     (/run/systemd/system exists); it is expanded like systemd would
 *     ("a-b.slice" -> "/a.slice/a-b.slice", unit "prefix-name.scope"),
 *     otherwise the error "systemd cgroup manager not available: systemd is
 *     not running".
 *   A path with a ".." component is refused.
 * On hybrid hosts the directory is made in every mounted v1 hierarchy
 * (name=systemd included, as runc does) and in /sys/fs/cgroup/unified.
 * Only directories that cell made are removed by cell_cg_destroy: the
 * container's own with its subtree, and its parents once empty, also when
 * another container made them (they carry cell's xattr mark).
 */
#ifndef CELL_CGROUP_H
#define CELL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>
#include "lib/error.h"

enum cell_cg_layout { CELL_CG_UNIFIED, CELL_CG_HYBRID, CELL_CG_LEGACY };
struct cell_cgroup; /* opaque */

/* statfs on /sys/fs/cgroup: CGROUP2_SUPER_MAGIC -> unified; tmpfs with a
 * cgroup2 at /sys/fs/cgroup/unified -> hybrid; else legacy. */
int cell_cg_detect(enum cell_cg_layout *out, struct cell_err *err);
const char *cell_cg_layout_name(enum cell_cg_layout l);

int cell_cg_create(const char *cgroups_path, const char *id, struct cell_cgroup **out,
                   struct cell_err *err);
/* cell_cg_create in two steps, so that a crash between them leaves a record:
 * plan resolves the paths and lists (in what cell_cg_serialize writes) the
 * directories that do not exist yet; make creates them (marking each one it
 * made with the xattr trusted.cell.made, user.cell.made when not root, and
 * retrying when a parent vanishes under a concurrent delete).  On failure
 * make removes what it made. */
int cell_cg_plan(const char *cgroups_path, const char *id, struct cell_cgroup **out, struct cell_err *err);
int cell_cg_make(struct cell_cgroup *cg, struct cell_err *err);
/* Re-open from the text of cell_cg_serialize (kept in state.json). */
int cell_cg_open(const char *serialized, struct cell_cgroup **out, struct cell_err *err);
char *cell_cg_serialize(const struct cell_cgroup *cg); /* malloc'd JSON text, NULL on ENOMEM */

/* Move pid into the cgroup in all hierarchies. */
int cell_cg_enter(struct cell_cgroup *cg, pid_t pid, struct cell_err *err);
/* As cell_cg_enter, for a process joining a running container (exec): where
 * the container's cgroup refuses processes (EBUSY: cgroup v2's rule against
 * processes in a cgroup with controllers enabled for its children, as when
 * systemd inside has made it a parent), pid joins init's cgroup in that
 * hierarchy instead, as runc and crun do.  init's cgroup must be the
 * container's or below it; anything else is refused. */
int cell_cg_enter_beside(struct cell_cgroup *cg, pid_t pid, pid_t init, struct cell_err *err);
/* Pure: the directory of init's cgroup for a hierarchy mounted at mount whose
 * container cgroup is path, from init's /proc/PID/cgroup text (the line with
 * controllers, "" for cgroup2).  malloc'd; NULL (errno EPERM) when init is
 * outside the container's cgroup, ENOENT when the hierarchy is not listed. */
char *cell_cg_init_dir(const char *mount, const char *path, const char *controllers, const char *proc_cgroup);
/* Self-placement, for a new process that is to start inside the cgroup:
 * the runtime opens, before clone, the v1 "tasks" files (and a cgroup2
 * directory fd for clone3 CLONE_INTO_CGROUP); the new single-threaded
 * process then moves itself by writing "0" to each tasks file.  Moving the
 * current thread skips the kernel's global cgroup_threadgroup_rwsem, whose
 * write side otherwise waits for an RCU grace period (10-20 ms on v1), and
 * v1 checks the opener's credentials, so this works inside a new user
 * namespace too. */
#define CELL_CG_SELF_MAX 32
struct cell_cg_self {
  int v2_dirfd;               /* for CLONE_INTO_CGROUP, or -1 */
  int tasks_fd[CELL_CG_SELF_MAX];
  size_t ntasks;
};
int cell_cg_self_prepare(const struct cell_cgroup *cg, struct cell_cg_self *s, struct cell_err *err);
/* In the new process (async-signal-safe): write "0" to every tasks file. */
int cell_cg_self_enter(const struct cell_cg_self *s, struct cell_err *err);
void cell_cg_self_close(struct cell_cg_self *s);
/* clone3(CLONE_INTO_CGROUP) into the cgroup2 directory V2_DIRFD with the
 * clone FLAGS (namespaces; SIGCHLD on exit): returns like fork(), in the
 * child with 0.  Born in its cgroup, the child costs no migration (no
 * cgroup_threadgroup_rwsem either).  -1 with errno: ENOSYS, E2BIG or EINVAL
 * on kernels without it; EBUSY for a cgroup2 directory with controllers
 * enabled for its children (no internal processes). */
pid_t cell_cg_clone_into(int v2_dirfd, unsigned long flags);

/* A new O_DIRECTORY|O_CLOEXEC fd (caller closes) of the cgroup2 dir for
 * clone3(CLONE_INTO_CGROUP); -1 unless the layout is unified. */
int cell_cg_v2_dirfd(const struct cell_cgroup *cg);

/* v2: cgroup.freeze and wait for "frozen 1|0" in cgroup.events;
 * v1: freezer.state FROZEN/THAWED and wait for the state. */
int cell_cg_freeze(struct cell_cgroup *cg, bool frozen, struct cell_err *err);
int cell_cg_is_frozen(const struct cell_cgroup *cg, bool *frozen, struct cell_err *err);
/* All pids in the subtree (malloc'd array, caller frees). */
int cell_cg_pids(const struct cell_cgroup *cg, pid_t **pids, size_t *n, struct cell_err *err);
/* Signal every process.  v2 SIGKILL uses cgroup.kill when present; else the
 * cgroup is frozen, every pid signalled, and thawed again (always thawed
 * after SIGKILL, even if it was frozen before, so the kill lands).  SIGKILL
 * also reaches processes found in any of the container's hierarchies, moving
 * them back into the container's cgroup in every hierarchy first: one frozen
 * in another freezer cgroup is thawed by the move.  Bounded in time. */
int cell_cg_kill_all(struct cell_cgroup *cg, int sig, struct cell_err *err);
/* rmdir the container's directory if cell made it (and any sub-cgroups below
 * it), bottom-up, retrying on EBUSY, then the empty parents cell made. */
int cell_cg_destroy(struct cell_cgroup *cg, struct cell_err *err);
/* The same without waiting: fails at the first busy directory (a cgroup that
 * still holds a process), for a delete that only needs the kill when one is
 * left; what it removed stays removed, and cell_cg_destroy finishes. */
int cell_cg_try_destroy(struct cell_cgroup *cg, struct cell_err *err);
void cell_cg_free(struct cell_cgroup *cg);

/* Filesystem path of the cgroup in a controller's hierarchy ("memory",
 * "cpu", "systemd" or "name=systemd"; "" for the v2/unified one); NULL if
 * that hierarchy is absent. */
const char *cell_cg_path(const struct cell_cgroup *cg, const char *controller);
enum cell_cg_layout cell_cg_get_layout(const struct cell_cgroup *cg);

/* ---- resources (linux.resources of the OCI runtime-spec) ---- */
/* Warnings (fields ignored on this cgroup version) go to fn, once per
 * apply/update; the runtime passes them to its logger.  NULL (the default)
 * drops them. */
typedef void (*cell_cg_warn_fn)(const char *msg);
void cell_cg_set_warn(cell_cg_warn_fn fn);
int cell_cg_apply_resources(struct cell_cgroup *cg, const cJSON *resources, struct cell_err *err);
/* Apply; on any failure restore the values read before, so nothing is
 * half-applied. */
int cell_cg_update(struct cell_cgroup *cg, const cJSON *resources, struct cell_err *err);
/* runc `events --stats` "data" object: cpu, memory, pids, blkio, hugetlb. */
int cell_cg_stats(const struct cell_cgroup *cg, cJSON **out, struct cell_err *err);
int cell_cg_oom_kill_count(const struct cell_cgroup *cg, unsigned long long *out,
                           struct cell_err *err);

#endif
