/* spec.h - config.json (OCI runtime-spec 1.2) loading and validation of the
 * parts the container setup consumes directly.  Process attributes,
 * capabilities, seccomp, hooks and resources are validated by their own
 * modules from the cJSON subtrees kept here. */
#ifndef CELL_SPEC_H
#define CELL_SPEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/file.h"

struct cell_idmap {
  unsigned long container, host, size;
};

struct cell_mount {
  char *destination;
  char *source;
  char *type;
  unsigned long flags;       /* MS_* to set */
  unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC) or 0 */
  unsigned long long attr_set, attr_clr; /* recursive MOUNT_ATTR_* (rro, rnosuid, ...) */
  bool bind, rec, idmap, copyup;
  char *data;                /* remaining fs options, comma separated */
  struct cell_idmap *uidmap, *gidmap;
  size_t nuidmap, ngidmap;
  int userns_fd; /* idmapped mounts: made by the runtime before clone (cell_idmap_prepare) */
  int tree_fd;   /* bind mounts of a user-namespaced container: a detached copy of the source made
                    by the runtime (open_tree), idmapped if asked; -1 if none */
};

struct cell_ns {
  int type;    /* CLONE_NEW* */
  char *path;  /* join this namespace, or NULL to create one */
};

struct cell_device {
  char *path;
  char type; /* c, b, u, p */
  long long major, minor;
  mode_t mode;
  bool has_mode, has_uid, has_gid;
  uid_t uid;
  gid_t gid;
};

struct cell_kv {
  char *key, *value;
};

struct cell_spec {
  cJSON *json;          /* the whole document, owned */
  char *bundle;         /* absolute */
  char *rootfs;         /* absolute */
  bool root_readonly;
  bool sysinit; /* systemd mode (runtime/sysinit.h) */
  char *hostname, *domainname;
  char **args;          /* NULL terminated, process.args */
  char **env;           /* NULL terminated */
  char *cwd;
  bool terminal;
  unsigned console_height, console_width;
  struct cell_mount *mounts;
  size_t nmounts;
  struct cell_ns ns[9];
  size_t nns;
  struct cell_idmap *uidmap, *gidmap;
  size_t nuidmap, ngidmap;
  long long time_boottime[2], time_monotonic[2]; /* secs, nanosecs */
  bool has_time_offsets;
  char **masked_paths, **readonly_paths;
  struct cell_device *devices;
  size_t ndevices;
  struct cell_kv *sysctl;
  size_t nsysctl;
  unsigned long rootfs_propagation;
  char *cgroups_path;
  char *mount_label;
  /* Subtrees for the other modules (may be NULL). */
  const cJSON *process, *linux_obj, *hooks, *seccomp, *resources, *annotations;
};

/* Reads <bundle>/config.json and validates it. bundle may be relative. */
int cell_spec_load(const char *bundle, struct cell_spec *spec, struct cell_err *err);
/* Validate an already parsed document (takes ownership of json). */
int cell_spec_from_json(cJSON *json, const char *bundle, struct cell_spec *spec, struct cell_err *err);
void cell_spec_free(struct cell_spec *spec);

bool cell_spec_has_ns(const struct cell_spec *spec, int type);
const struct cell_ns *cell_spec_ns(const struct cell_spec *spec, int type);

/* Parse one mount option list into m (exported for unit tests). */
int cell_mount_parse_options(const cJSON *options, const char *field, struct cell_mount *m, struct cell_err *err);

/* The default config.json `cell spec` writes (malloc'd text). */
char *cell_spec_default(bool rootless);

/* Parse a whole JSON document: data after it, and a NUL byte ("\u0000") in
 * any string, are errors; `what` names the input ("config.json"), the NUL
 * error names the field (prefix + path, e.g. "process.args[1]"). */
cJSON *cell_json_parse_doc(const char *text, const char *what, const char *prefix, struct cell_err *err);

/* Reads a whole file (malloc'd, NUL terminated). */

/* String array helpers: "field" is used in errors. */
int cell_json_strv(const cJSON *arr, const char *field, char ***out, struct cell_err *err);
void cell_strv_free(char **v);

#endif
