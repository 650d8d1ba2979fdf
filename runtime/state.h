/* state.h - the container's state directory <root>/<id>: state.json, the
 * config it was created from, exec.fifo, and the per-container lock. */
#ifndef CELL_STATE_H
#define CELL_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

#define CELL_ID_MAX 1024

enum cell_status { CELL_CREATING, CELL_CREATED, CELL_RUNNING, CELL_PAUSED, CELL_STOPPED };

struct cell_state {
  char id[CELL_ID_MAX];
  pid_t pid;
  unsigned long long start_time; /* field 22 of /proc/PID/stat, guards pid reuse */
  char *bundle;
  char *rootfs;
  char *created;     /* RFC3339 */
  char *cgroup;      /* cell_cg_serialize() text */
  char *annotations; /* JSON object text, or NULL */
  uid_t owner;
  bool no_pivot;
};

/* Validates an id (non-empty, no '/', not "." / "..", printable). */
int cell_id_valid(const char *id, struct cell_err *err);

/* Opens (and optionally creates) <root>, returns a dirfd. */
int cell_root_open(const char *root, bool create, struct cell_err *err);

/* A create in progress, or killed: <root>/<id>/.creating exists from the
 * directory's creation until the create succeeded.  Such a container's
 * status is "stopped" ("creating" in list while its create holds the lock);
 * delete --force removes whatever it got to: the state is written before
 * any cgroup is made (with the cgroups it is about to make), and again with
 * the init's pid as soon as it exists. */
#define CELL_STATE_CREATING ".creating"

/* Creates <root>/<id> exclusively ("container with id exists: ID" on clash),
 * locks it, marks it creating and returns its dirfd. */
int cell_state_create_dir(int rootfd, const char *id, struct cell_err *err);
/* The create finished: removes the creating mark. */
int cell_state_created(int dirfd, const char *id, struct cell_err *err);
bool cell_state_half_made(int dirfd);
/* Opens and locks <root>/<id>; "container does not exist" when missing.
 * Any directory there is a container, even one without state.json. */
int cell_state_lock(int rootfd, const char *id, struct cell_err *err);
int cell_state_save(int dirfd, const struct cell_state *st, struct cell_err *err);
/* A missing state.json (a create killed before its first save) loads as an
 * empty state: pid 0, no cgroup. */
int cell_state_load(int dirfd, const char *id, struct cell_state *st, struct cell_err *err);
void cell_state_free(struct cell_state *st);
/* Removes <root>/<id> and everything in it, state.json and .creating last. */
int cell_state_remove(int rootfd, const char *id, struct cell_err *err);

/* Status from the pid, its start time, the exec fifo and the freezer. */
unsigned long long cell_proc_start_time(pid_t pid); /* 0 if gone or a zombie */
bool cell_state_pid_alive(const struct cell_state *st);
const char *cell_status_name(enum cell_status s);

/* Writes the OCI state JSON (id, status, pid, bundle, annotations...) as text. */
char *cell_state_json(const struct cell_state *st, enum cell_status status);
/* The OCI state object (runtime-spec "State"): ociVersion, id, pid, status,
 * bundle, and rootfs, created, annotations (copied) when given. The one
 * builder behind `cell state` (cell_state_json) and the hooks' stdin. */
struct cJSON;
struct cJSON *cell_oci_state(const char *id, pid_t pid, const char *status, const char *bundle,
                             const char *rootfs, const char *created, const struct cJSON *annotations);

#endif
