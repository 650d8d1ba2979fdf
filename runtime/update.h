/* update.h - `cell update`: the resource flags (--memory, --cpu-quota, ...)
 * turned into an OCI linux.resources object, and applying it (or a
 * --resources file) to a running container. */
#ifndef CELL_UPDATE_H
#define CELL_UPDATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/error.h"

#define CELL_UPDATE_MAX_FLAGS 64

/* The flags in the order given; name is the long option without "--"
 * ("memory", "cpuset-cpus", ...), value its argument. */
struct cell_update_flags {
  const char *resources; /* --resources FILE ("-": stdin); replaces the flags */
  size_t n;
  struct cell_update_flag {
    const char *name;
    const char *value;
  } v[CELL_UPDATE_MAX_FLAGS];
};

/* Append one flag; fails (naming it) past CELL_UPDATE_MAX_FLAGS. */
int cell_update_flags_add(struct cell_update_flags *f, const char *name, const char *value, struct cell_err *err);

/* Build {"memory":{"limit":N},"cpu":{...},...} from f's flags (not the
 * --resources file).  Numbers take k/m/g suffixes and -1; a bad value fails
 * with "--FLAG: invalid value \"V\"" and returns CELL_UPDATE_BAD_VALUE (a
 * usage error); the Intel RDT flags fail as unsupported (-1).  *out is the
 * caller's to cJSON_Delete. */
#define CELL_UPDATE_BAD_VALUE (-2)
int cell_update_resources_from_flags(const struct cell_update_flags *f, cJSON **out, struct cell_err *err);

/* The resources text to apply: the --resources file's text when f names one
 * (it replaces the flags, as runc does), else the flags' JSON.  Caller frees. */
char *cell_update_resources_text(const struct cell_update_flags *f, struct cell_err *err);

/* Apply f to the container id under root. */
int cell_update_apply(const char *root, const char *id, const struct cell_update_flags *f, struct cell_err *err);

#endif
