/* container.h - the container lifecycle: create (namespaces, cgroup, rootfs,
 * the init waiting on exec.fifo), start, state, kill, delete, pause, exec. */
#ifndef CELL_CONTAINER_H
#define CELL_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/error.h"
#include "runtime/state.h"

/* The named phases of create, in order; on_phase is told each one as it
 * completes (pid: the container init's host pid once it exists, else -1). */
enum cell_create_phase {
  CELL_CREATE_PREPARED,      /* config read and validated */
  CELL_CREATE_STATE_SAVED,   /* state dir, cgroups planned/made, config copy saved */
  CELL_CREATE_INIT_SPAWNED,  /* the init exists in its new namespaces */
  CELL_CREATE_INIT_PLACED,   /* the init is in its cgroups */
  CELL_CREATE_INIT_MOUNTED,  /* the init mounted its rootfs (before the netns hook) */
  CELL_CREATE_NETWORK_READY, /* netns hook, prestart and createRuntime hooks done */
  CELL_CREATE_INIT_READY,    /* the init waits on exec.fifo */
  CELL_CREATE_CREATED,       /* state "created" is saved */
};
const char *cell_create_phase_name(enum cell_create_phase ph);

/* Callbacks for a caller running the runtime in-process.  Each returns 0 or
 * -1 with err set; -1 fails create and undoes it (no process, cgroup or state
 * left behind). */
struct cell_create_hooks {
  int (*on_phase)(enum cell_create_phase ph, pid_t init_pid, void *data, struct cell_err *err);
  /* Runs in the runtime after the init made its namespaces and mounted its
   * rootfs, before the prestart hooks and before the container process can
   * run; only when the config has a network namespace (new or joined).
   * netns_fd: the init's network namespace (O_RDONLY, closed after the call). */
  int (*netns)(pid_t init_pid, int netns_fd, void *data, struct cell_err *err);
  void *data;
};

struct cell_create_opts {
  const char *root;
  const char *id;
  const char *bundle; /* with config: the directory relative paths are under */
  const cJSON *config; /* a config built in memory (copied); no config.json is read */
  const struct cell_create_hooks *hooks; /* optional */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
  bool no_pivot;
  bool no_new_keyring;
  bool foreground; /* `run` without --detach: the tty stays with us */
  bool no_cgroups; /* --cgroup-manager=disabled */
};

struct cell_created {
  pid_t pid;
  int console_master; /* foreground run with a terminal, else -1 */
};

int cell_container_create(const struct cell_create_opts *o, struct cell_created *out, struct cell_err *err);
int cell_container_start(const char *root, const char *id, struct cell_err *err);
/* Runs `create`, `start`, waits, and unless keep, deletes. Returns the exit code. */
int cell_container_run(const struct cell_create_opts *o, bool detach, bool keep, int *exit_code,
                       struct cell_err *err);
int cell_container_state(const char *root, const char *id, char **json, struct cell_err *err);
int cell_container_kill(const char *root, const char *id, int sig, bool all, struct cell_err *err);
int cell_container_delete(const char *root, const char *id, bool force, struct cell_err *err);
int cell_container_pause(const char *root, const char *id, bool pause, struct cell_err *err);
int cell_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct cell_err *err);
int cell_container_list(const char *root, struct cell_state **out, enum cell_status **status, size_t *n,
                        struct cell_err *err);
int cell_container_update(const char *root, const char *id, const char *resources_json, struct cell_err *err);
int cell_container_stats(const char *root, const char *id, char **json, unsigned long long *oom, struct cell_err *err);

struct cell_exec_opts {
  const char *root;
  const char *id;
  const char *process_json; /* text of a process.json, or NULL */
  char **args;              /* used when process_json is NULL */
  char **env;               /* extra env (--env), appended */
  const char *cwd, *user;
  char **caps;              /* --cap additions */
  bool tty, detach, no_new_privs;
  const char *pid_file, *console_socket;
  int preserve_fds;
};
int cell_container_exec(const struct cell_exec_opts *o, int *exit_code, struct cell_err *err);

/* Loads the status of a locked container. */
enum cell_status cell_container_status(int dirfd, const struct cell_state *st);

/* Ensure we run from a sealed copy of our binary (CVE-2019-5736). May re-exec. */
int cell_protect_self_exe(char **argv, struct cell_err *err);

#endif
