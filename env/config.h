/* config.h - an environment's config file, ROOT/vps/NAME/config: INI text
 * that people edit.  Sections "[env]" and "[limits]" (see env/README in the
 * top README's cellctl section); "KEY = VALUE" lines; '#' or ';' starts a
 * comment line.  Every line is kept as written: a rewrite changes only the
 * value of the keys that were set (or appends the key to its section), so
 * comments and the order survive.  Writes are atomic (tmp + rename). */
#ifndef ENV_CONFIG_H
#define ENV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

struct env_config;

/* The keys cellctl knows: section, whether `set` applies it to a running
 * environment, and the check of its value. */
enum env_key_type { ENV_KT_STRING, ENV_KT_BOOL, ENV_KT_SIZE, ENV_KT_CPUS, ENV_KT_UINT, ENV_KT_CPUSET,
                    ENV_KT_INIT, ENV_KT_NAME, ENV_KT_IOLIMIT, ENV_KT_REBOOT, ENV_KT_NET,
                    ENV_KT_FORWARD };
struct env_key {
  const char *name;
  const char *section;
  enum env_key_type type;
  bool live;                /* `set` changes it in a running environment */
  unsigned long long min, max; /* ENV_KT_UINT bounds */
  const char *help;
};
const struct env_key *env_key_find(const char *name);
const struct env_key *env_keys(size_t *n);

/* Checks value against key's type; errors name the key (and `where`, the
 * file or the option, when not NULL). */
int env_key_check(const struct env_key *k, const char *value, const char *where, struct cell_err *err);

/* Parses text; path names the file in errors ("PATH:LINE: ..."); every known
 * key is checked, an unknown key is an error. */
int env_config_parse(const char *text, const char *path, struct env_config **out, struct cell_err *err);
/* Reads and parses path. */
int env_config_load(const char *path, struct env_config **out, struct cell_err *err);
/* A new config with the header comment for an environment named name. */
struct env_config *env_config_new(const char *name);
void env_config_free(struct env_config *c);

/* The value of key (NULL when not set).  The pointer stays valid until the
 * key is set again or the config is freed. */
const char *env_config_get(const struct env_config *c, const char *key);
/* Sets a known key after checking its value (errors name the key);
 * value NULL removes the line. */
int env_config_set(struct env_config *c, const char *key, const char *value, struct cell_err *err);
/* The whole text (malloc'd). */
char *env_config_text(const struct env_config *c);
/* Atomic write under dirfd as name ("config"). */
int env_config_save(const struct env_config *c, int dirfd, const char *name, struct cell_err *err);

/* Value parsers (shared with the limits code). */
int env_parse_size(const char *s, unsigned long long *out);   /* 512M, 1G, 1048576, "max" -> ULLONG_MAX */
int env_parse_cpus(const char *s, unsigned long long *milli); /* "1.5" -> 1500 */
int env_parse_bool(const char *s, bool *out);

#endif
