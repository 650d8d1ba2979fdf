/* error.h - explicit error objects carried up the call chain.
 *
 * Every fallible function takes `struct cell_err *err` and, on failure,
 * fills it with a message naming what failed and where (path, field, errno
 * text) and returns -1.  Library code never exits; only main() reports.
 */
#ifndef CELL_ERROR_H
#define CELL_ERROR_H

#include <stddef.h>

#define CELL_ERR_MAX 2048

struct cell_err {
  int errnum;              /* errno value at the failure, 0 if none */
  char msg[CELL_ERR_MAX];  /* human readable, already includes strerror */
};

/* Set err from a printf format; appends ": <strerror(errnum)>" when
 * errnum != 0.  Always returns -1 so callers can `return cell_error(...)`. */
int cell_error(struct cell_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing error with more context: "prefix: old message". */
int cell_error_wrap(struct cell_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cleanup_free, cleanup_close, cleanup_fclose, cleanup_closedir. */
#include "lib/cleanup.h"

#endif
