/* procattr.h - the remaining attributes of the OCI `process` object (and
 * linux.personality): validated into plain C data before any process is
 * created, applied inside the container process just before execve.
 *
 * Order inside the container process:
 *   cell_procattr_apply_early()   rlimits, oomScoreAdj, ioPriority,
 *                                 scheduler, personality, initial CPU
 *                                 affinity, umask
 *   ... namespaces / mounts / cgroup join done by the caller ...
 *   cell_caps_apply_bounding()    (optional, see caps.h)
 *   cell_procattr_apply_user()    KEEPCAPS, setgroups, setresgid, setresuid
 *   cell_caps_apply()             capabilities (see caps.h)
 *   cell_procattr_apply_final()   final CPU affinity, LSM exec label,
 *                                 no_new_privs
 *   cell_find_executable() + execve
 * The struct holds only plain data and heap arrays, so it stays valid in a
 * forked child; free it with cell_procattr_free() in each process.
 */
#ifndef CELL_PROCATTR_H
#define CELL_PROCATTR_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/error.h"

struct cell_rlimit {
  int resource;         /* RLIMIT_* */
  const char *name;     /* "RLIMIT_NOFILE" (static string) */
  int index;            /* position in process.rlimits, for messages */
  struct rlimit lim;
};

/* Mirrors the kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1). */
struct cell_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

struct cell_procattr {
  size_t n_rlimits;
  struct cell_rlimit *rlimits;

  bool has_oom_score_adj;
  int oom_score_adj;

  bool has_ioprio;
  int ioprio;           /* IOPRIO_PRIO_VALUE(class, level) */

  bool has_sched;
  struct cell_sched_attr sched;

  bool has_cpu_initial, has_cpu_final;
  cpu_set_t cpu_initial, cpu_final;

  bool has_personality;
  unsigned long personality;

  bool no_new_privileges;

  bool has_umask;
  mode_t umask;

  uid_t uid;
  gid_t gid;
  size_t n_gids;
  gid_t *gids;          /* process.user.additionalGids */

  char *apparmor_profile;  /* NULL if unset */
  char *selinux_label;     /* NULL if unset */
};

/* Validate and prepare.  `process` is config.json's "process" object,
 * `linux_obj` its "linux" object (may be NULL; only "personality" is used).
 * Errors name the field, e.g.
 *   process.rlimits[1].type: unknown rlimit "RLIMIT_FOO"
 * Also validates process.env entries ("KEY=VALUE"). */
int cell_procattr_prepare(const cJSON *process, const cJSON *linux_obj,
                          struct cell_procattr *out, struct cell_err *err);
void cell_procattr_free(struct cell_procattr *pa);

int cell_procattr_apply_early(const struct cell_procattr *pa, struct cell_err *err);
/* prctl(PR_SET_KEEPCAPS, 1); setgroups(additionalGids); setresgid(gid);
 * setresuid(uid); prctl(PR_SET_KEEPCAPS, 0).  The permitted capability set
 * survives the uid switch; cell_caps_apply() restores the effective set. */
int cell_procattr_apply_user(const struct cell_procattr *pa, struct cell_err *err);
int cell_procattr_apply_final(const struct cell_procattr *pa, struct cell_err *err);
/* Split out of apply_early/apply_final for callers (e.g. exec) that need
 * the affinity at a different point. */
int cell_procattr_apply_cpu_initial(const struct cell_procattr *pa, struct cell_err *err);
int cell_procattr_apply_cpu_final(const struct cell_procattr *pa, struct cell_err *err);

/* "0-3,7" -> set.  `field` names the config field in messages. */
int cell_parse_cpu_list(const char *s, const char *field, cpu_set_t *out,
                        struct cell_err *err);

/* RLIMIT_* by name, -1 if unknown. */
int cell_rlimit_from_name(const char *name);

/* Validate process.env alone (used by exec -e too). */
int cell_env_validate(const cJSON *env, const char *field, struct cell_err *err);
/* An array of strings (null or absent is fine); kv: each one KEY=VALUE with a
 * non-empty KEY. Errors name field[i]. (process.env, hooks' args and env.) */
int cell_strings_validate(const cJSON *arr, const char *field, bool kv, struct cell_err *err);

/* Host LSM state. */
bool cell_apparmor_enabled(void);
bool cell_selinux_enabled(void);

/* Resolve arg0 like Go's exec.LookPath, which runc uses, with runc's error
 * texts (engines map them to exit codes 127/126):
 *   exec: "foo": executable file not found in $PATH
 *   exec: "/bin/foo": stat /bin/foo: no such file or directory
 *   exec: "/etc/passwd": permission denied
 *   exec: "foo": cannot run executable found relative to current directory
 * path_env is the value of PATH from process.env (NULL: unset). */
int cell_find_executable(const char *arg0, const char *path_env, char *out,
                         size_t outlen, struct cell_err *err);

#endif
