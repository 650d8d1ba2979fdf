/* internal.h - helpers shared by the runtime's command implementations. */
#ifndef CELL_INTERNAL_H
#define CELL_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/caps.h"
#include "lib/error.h"
#include "runtime/procattr.h"
#include "runtime/cell_seccomp.h"

void cell_now_rfc3339(char *buf, size_t n);
int cell_write_pid_file(const char *path, pid_t pid, struct cell_err *err);
void cell_cloexec_from(int from);
/* Close every fd >= from except keep[] (at most 8 of them). */
void cell_close_fds_from(int from, const int *keep, size_t nkeep);
/* chdir to cwd resolved inside the current root ("/"), refusing one outside it;
 * create: make missing directories (inside the root).  Errors name field. */
int cell_enter_cwd(const char *cwd, bool create, const char *field, struct cell_err *err);
/* user, capabilities, NNP, seccomp, execve; reports failure on sock (or stderr) and exits. */
void cell_finish_exec(int sock, const char *path, char **args, char **env, struct cell_procattr *pa,
                      struct cell_caps *caps, bool has_caps, struct cell_seccomp *sc, bool seccomp_loaded)
    __attribute__((noreturn));
#endif
