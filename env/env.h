/* env.h - VPS-style environments on the in-process runtime.
 *
 * Files: ROOT/vps/NAME/ holds `config` (env/config.h), the overlay's
 * upper/work dirs (data/) and the mount points the rootfs is assembled on.
 * Runtime state: RUN/env/NAME (the runtime's state dir, RUN = --root's
 * run/ or /run/cell) and RUN/env-run/NAME (the notify socket).  Every
 * command on an environment holds the flock of ROOT/vps/NAME (bounded wait).
 * The rootfs overlay is mounted in a private mount namespace of a child
 * that creates the container, so the host never holds an environment's
 * mount: the overlay lives as long as the environment's mount namespace.
 */
#ifndef CELL_ENV_ENV_H
#define CELL_ENV_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "env/config.h"
#include "lib/error.h"

#define ENV_NAME_MAX 64

/* Letters, digits, '-', '_' and '.', starting with a letter or digit, at
 * most ENV_NAME_MAX; errors say what is wrong with it. */
int env_name_valid(const char *name, struct cell_err *err);

struct env {
  char name[ENV_NAME_MAX + 1];
  char root[PATH_MAX];    /* cellctl's root */
  char run[PATH_MAX];     /* its run dir */
  char dir[PATH_MAX];     /* ROOT/vps/NAME */
  char cfg_path[PATH_MAX];
  char rt_root[PATH_MAX]; /* the runtime's root: RUN/env */
  char aux[PATH_MAX];     /* RUN/env-run/NAME */
  int dirfd;              /* ROOT/vps/NAME, flocked */
  struct env_config *cfg;
  /* the reboot monitor: in the start child's private mount namespace, whose
   * copy of the disk mount stays (the host's is detached by stop/destroy) */
  bool keep_disk;
};

/* Lock wait bound (seconds); CELLCTL_LOCK_TIMEOUT overrides. */
#define ENV_LOCK_TIMEOUT 300

/* Opens and locks an existing environment and loads its config. */
int env_open(const char *root, const char *run, const char *name, struct env **out, struct cell_err *err);
/* The same for stop and destroy: a config that does not parse (a bad hand
 * edit) is warned about and read as empty, so the environment can still be
 * stopped and removed. */
int env_open_lenient(const char *root, const char *run, const char *name, struct env **out, struct cell_err *err);
void env_close(struct env *e);

/* Creates NAME from a config already filled in (image or rootfs, limits):
 * checks it, allocates the id range of an unprivileged environment, writes
 * the directory under a temporary name and renames it into place, so a
 * killed create leaves no half environment (a leftover temp dir is removed
 * by the next create).  Fails when NAME exists. */
int env_create(const char *root, const char *run, const char *name, struct env_config *cfg, struct cell_err *err);

enum env_state { ENV_STOPPED, ENV_STARTING, ENV_RUNNING };
const char *env_state_name(enum env_state s);

struct env_status {
  enum env_state state;
  pid_t pid;                    /* the init's host pid, 0 when stopped */
  unsigned long long start_time; /* its starttime (clock ticks since boot) */
  bool leftover;                /* stopped, but runtime state/cgroup remains (repaired by start/destroy) */
};
int env_status(struct env *e, struct env_status *st, struct cell_err *err);

/* start: repairs leftovers, assembles the rootfs and creates and starts the
 * container in a child (cellctl itself keeps its namespaces and reaper
 * status).  wait: returns once the init is ready (systemd READY=1 on the
 * notify socket; other inits: their halt signal's handler installed), at
 * most timeout seconds. */
int env_start(struct env *e, bool wait, int timeout, struct cell_err *err);

/* stop: the init's halt signal (sent again until its handler is in), the
 * whole cgroup killed after timeout seconds (or at once when force); then
 * the runtime state and cgroup are removed.  *clean: halted by itself. */
int env_stop(struct env *e, int timeout, bool force, bool *clean, struct cell_err *err);

/* Removes the runtime leftovers of a stopped environment (state, cgroup,
 * notify socket). */
int env_repair(struct env *e, struct cell_err *err);

/* destroy: stopped (or force: stopped now), then everything: runtime
 * state, id range, the directory.  Consumes e (closed). */
int env_destroy(struct env *e, bool force, struct cell_err *err);

/* set KEY=VALUE pairs: checked first (all or nothing), applied live when
 * running (the limits), then saved unless no_save.  note() is told about
 * every key that only takes effect at the next start. */
int env_set(struct env *e, char **kv, int n, bool no_save, void (*note)(const char *msg), struct cell_err *err);

/* The OCI linux.resources object of the config's limits (NULL when none). */
int env_resources(const struct env_config *cfg, cJSON **out, struct cell_err *err);

/* One environment as JSON: name, state, pid, uptime, config keys, memory
 * and CPU use (running). */
cJSON *env_info(struct env *e);
/* All names under ROOT/vps, sorted (malloc'd array of malloc'd strings). */
int env_list_names(const char *root, char ***names, size_t *n, struct cell_err *err);

/* exec: a command in the environment (all its namespaces and its cgroup). */
struct env_exec_opts {
  char **args;
  char **env; /* extra K=V */
  const char *user;
  const char *cwd;
  bool tty;
};
int env_exec(struct env *e, const struct env_exec_opts *o, int *exit_code, struct cell_err *err);

/* console: attach the terminal to the init's console (served by the reaper
 * process, reboot = restart); detach_key (a byte, Ctrl-] = 0x1d) detaches. */
int env_console_attach(struct env *e, int detach_key, struct cell_err *err);

/* The halt signal for a running init: from its init kind and what its
 * SigCgt (/proc/PID/status) says it catches; 0 when it catches none yet. */
int env_halt_signal(const char *init, pid_t pid);

#endif
