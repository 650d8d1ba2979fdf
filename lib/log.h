/* log.h - runc-compatible logging: --log FILE, --log-format text|json, --debug.
 * In json mode each line is {"level":"...","msg":"...","time":"RFC3339"}; a failed
 * invocation writes exactly one "error" object (engines such as podman parse the
 * whole file as one object). */
#ifndef CELL_LOG_H
#define CELL_LOG_H

enum cell_log_level { CELL_LOG_DEBUG, CELL_LOG_INFO, CELL_LOG_WARN, CELL_LOG_ERROR };

struct cell_err;

/* path may be NULL (stderr only).  Returns -1 with err if the file cannot be opened. */
int cell_log_open(const char *path, int json, int debug, struct cell_err *err);
void cell_log(enum cell_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cell_warn(...) cell_log(CELL_LOG_WARN, __VA_ARGS__)
#define cell_debug(...) cell_log(CELL_LOG_DEBUG, __VA_ARGS__)
/* The one error report of a failed invocation: to the log file (if any) and stderr. */
void cell_log_fatal(const char *msg);
/* The program name that stderr lines start with ("cell" unless set). */
void cell_log_set_prog(const char *name);
/* The log fd (or -1), so forked children can close it before exec. */
int cell_log_fd(void);

#endif
