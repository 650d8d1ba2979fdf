/* storage_internal.h - what the storage/ files share. */
#ifndef CELL_STORAGE_INTERNAL_H
#define CELL_STORAGE_INTERNAL_H

#include "storage/storage.h"

/* Bind image to a free loop device (autoclear); its name in dev.  Returns the
 * device's fd (the device is cleared when the last holder closes), or -1. */
int storage_loop_attach(const char *image, char *dev, size_t devlen, struct cell_err *err);
int storage_loop_detach_image(const char *image, struct cell_err *err);
int storage_loop_set_capacity(const char *dev, struct cell_err *err);

/* storage_run, but exit codes up to *status (on entry) are success; the
 * exit code in *status.  0, or -1 (exit code above the limit, signal). */
int storage_run_status(char *const argv[], int *status, struct cell_err *err);
/* /usr/sbin/NAME or /sbin/NAME when there, else NAME (execvp searches PATH). */
const char *storage_find_prog(const char *name, char *buf, size_t len);

#endif
