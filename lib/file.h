/* file.h - whole-file reads, atomic writes, mkdir -p and rm -rf.
 *
 * Reads return a malloc'd, NUL-terminated buffer (the length, without the
 * NUL, in *len when len is not NULL) or NULL with errno set. */
#ifndef CELL_FILE_H
#define CELL_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct cell_err;

/* Read from fd's current offset to end of file (EINTR retried). */
char *cell_read_fd(int fd, size_t *len);
/* Read path relative to dirfd (AT_FDCWD for a plain path). */
char *cell_read_fileat(int dirfd, const char *path, size_t *len);
/* Read a whole file; on failure err says "open PATH" / "read PATH" with errno text. */
char *cell_read_file(const char *path, size_t *len, struct cell_err *err);

/* One read(2) of a small file (a /proc or /sys value) into buf, at most
 * size - 1 bytes, NUL terminated; no allocation (safe after fork). The byte
 * count, or -1 with errno (buf is then ""). */
ssize_t cell_read_small(const char *path, char *buf, size_t size);

/* pread a whole file from offset 0 into *buf (grown with realloc: *cap bytes
 * allocated, *len of text, NUL terminated). A short first read of a small
 * file ends the read (seq files return whole in one go). 0, or -1 with
 * errno (ENOMEM when growing failed; the text read so far stays). */
int cell_pread_all(int fd, char **buf, size_t *len, size_t *cap);

/* Write data to NAME.tmp under dirfd (mode for a new file), then rename it
 * over NAME: readers see the old or the new content, never a part. */
int cell_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         struct cell_err *err);

/* mkdir -p: every missing component of path with mode (existing ones kept).
 * 0, or -1 with errno (ENAMETOOLONG past PATH_MAX). */
int cell_mkdir_p(const char *path, mode_t mode);

/* rm -rf NAME under dirfd without following symlinks (a symlink is removed,
 * not its target). A missing NAME is success. 0, or -1 with errno of the
 * first failure (the rest is still removed as far as possible). */
int cell_rm_rf_at(int dirfd, const char *name);

#endif
