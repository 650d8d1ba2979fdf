/* ps.h - `cell ps`: the processes of a container, as a JSON array of pids
 * or as the host's ps(1) table restricted to them (as runc prints). */
#ifndef CELL_PS_H
#define CELL_PS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

/* Print to stdout the header and the lines of `ps ARGS` (`ps -ef` without
 * ARGS) whose PID column is one of pids.  ps runs from an argv, no shell. */
int cell_ps_table(char **args, int nargs, const pid_t *pids, size_t n, struct cell_err *err);

/* Print the container's processes: json, a [pid,...] array; else the table. */
int cell_ps_print(const char *root, const char *id, bool json, char **args, int nargs, struct cell_err *err);

#endif
