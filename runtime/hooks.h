/* hooks.h - OCI lifecycle hooks (config.json "hooks").
 *
 * Each hook {path, args, env, timeout} runs as: fork, execve(path, args or
 * {path}, env exactly as given or empty), the container state JSON written
 * to its stdin (a hook that never reads stdin is fine: EPIPE/SIGPIPE are
 * ignored), stdout inherited, stderr passed through to ours while its last
 * bytes are kept for the error message.  The hook runs in its own process
 * group; on timeout the whole group gets SIGKILL.
 *
 * Which failures abort is the caller's business (runtime-spec:
 * prestart/createRuntime/createContainer/startContainer abort and clean up;
 * poststart/poststop only warn).  createContainer/startContainer hooks must
 * be run by the caller from inside the container's namespaces.
 */
#ifndef CELL_HOOKS_H
#define CELL_HOOKS_H

#include <cjson/cJSON.h>

#include "lib/error.h"

/* Validate the whole "hooks" object (NULL/null is fine): known hook lists
 * must be arrays of objects; path must be an absolute path; args and env
 * arrays of strings (env as KEY=VALUE); timeout an integer > 0. */
int cell_hooks_validate(const cJSON *hooks, struct cell_err *err);

/* Run the hooks of one array (e.g. hooks.prestart; NULL or empty: nothing)
 * in order, stopping at the first failure; poststart and poststop hooks
 * only warn (cell_warn) on failure, run the rest and return 0.  `which` is the key name for
 * messages ("prestart").  Errors:
 *   hooks.prestart[1]: timeout after 2 seconds
 *   hooks.prestart[0] (/usr/bin/hook): exit status 3: stderr: "..."
 *   hooks.poststop[0] (/usr/bin/hook): killed by signal 9 (Killed)
 *   hooks.prestart[0] (/nope): exec: No such file or directory */
int cell_hooks_run(const cJSON *hooks_array, const char *which, const char *state_json,
                   struct cell_err *err);

#endif
