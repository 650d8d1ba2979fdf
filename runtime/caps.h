/* caps.h - process.capabilities: parse the five OCI capability sets into
 * 64-bit masks (plain data, usable after fork) and apply them.
 *
 * Sequencing inside the container process (all after fork, before execve):
 *   1. cell_caps_apply_bounding()  (optional; cell_caps_apply does it too)
 *   2. prctl(PR_SET_KEEPCAPS, 1); setgroups; setresgid; setresuid
 *      (cell_procattr_apply_user() does exactly this)
 *   3. cell_caps_apply(): re-raises the effective set from the permitted set
 *      kept by KEEPCAPS, drops every capability not in `bounding` from the
 *      bounding set (PR_CAPBSET_DROP), sets effective/permitted/inheritable
 *      with capset(2), then clears the ambient set and raises each ambient
 *      capability (PR_CAP_AMBIENT_RAISE).  Ambient must come after the uid
 *      switch because the kernel clears it when all uids leave 0.
 * A set that is absent from the config is treated as empty, as runc does.
 */
#ifndef CELL_CAPS_H
#define CELL_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/error.h"

enum cell_cap_set {
  CELL_CAPS_BOUNDING,
  CELL_CAPS_EFFECTIVE,
  CELL_CAPS_INHERITABLE,
  CELL_CAPS_PERMITTED,
  CELL_CAPS_AMBIENT,
  CELL_CAPS_NSETS
};

struct cell_caps {
  uint64_t set[CELL_CAPS_NSETS];  /* bit N = capability N */
  bool present[CELL_CAPS_NSETS];  /* the set was given in the config */
};

/* Convenience accessors by name. */
#define cell_caps_bounding(c) ((c)->set[CELL_CAPS_BOUNDING])
#define cell_caps_effective(c) ((c)->set[CELL_CAPS_EFFECTIVE])
#define cell_caps_inheritable(c) ((c)->set[CELL_CAPS_INHERITABLE])
#define cell_caps_permitted(c) ((c)->set[CELL_CAPS_PERMITTED])
#define cell_caps_ambient(c) ((c)->set[CELL_CAPS_AMBIENT])

/* "bounding", "effective", ... */
const char *cell_caps_set_name(enum cell_cap_set s);

/* "CAP_CHOWN" for 0; NULL if the number is unknown to this build. */
const char *cell_cap_name(int cap);
/* Number for "CAP_CHOWN" (exact spelling, as runc); -1 if unknown. */
int cell_cap_from_name(const char *name);
/* Highest capability number known to this build. */
int cell_cap_max_known(void);
/* /proc/sys/kernel/cap_last_cap, or the build's maximum if unreadable. */
int cell_cap_last_cap(void);

/* Parse process.capabilities (may be NULL or JSON null: all sets empty and
 * absent).  Unknown names fail naming the field
 * ("process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"");
 * names known but above the kernel's cap_last_cap are skipped with a
 * warning on stderr. */
int cell_caps_parse(const cJSON *capabilities, struct cell_caps *out,
                    struct cell_err *err);
/* Same, with an explicit last_cap (testing, or a cached value). */
int cell_caps_parse_last(const cJSON *capabilities, int last_cap,
                         struct cell_caps *out, struct cell_err *err);

/* `exec --cap NAME` (repeatable), with runc's semantics: each capability is
 * added to bounding, effective and permitted; it is added to ambient only
 * when the inheritable set was given in the config (ambient cannot be
 * raised without inheritable, and --cap does not touch inheritable). */
int cell_caps_from_names(const char *const *names, size_t n,
                         struct cell_caps *c, struct cell_err *err);

/* Drop every capability not in c->bounding from the bounding set. */
int cell_caps_apply_bounding(const struct cell_caps *c, struct cell_err *err);
/* Full application, see the sequencing note at the top. */
int cell_caps_apply(const struct cell_caps *c, struct cell_err *err);

#endif
