/* cleanup.h - __attribute__((cleanup)) helpers, crun style.
 *
 *   cleanup_free char *buf = NULL;     free(buf) at scope exit
 *   cleanup_close int fd = -1;         close(fd) if >= 0, errno kept
 *   cleanup_fclose FILE *f = NULL;     fclose(f) if non-NULL, errno kept
 *   cleanup_closedir DIR *d = NULL;    closedir(d) if non-NULL, errno kept
 *
 * Hand a value on (return it, store it) by setting the variable to NULL / -1
 * first, e.g. `char *r = buf; buf = NULL; return r;`. */
#ifndef CELL_CLEANUP_H
#define CELL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p) {
  void **pp = (void **)p;
  free(*pp);
  *pp = NULL;
}

static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
    *fd = -1;
  }
}

static inline void cleanup_fclosep(FILE **f) {
  if (*f) {
    int saved = errno;
    fclose(*f);
    errno = saved;
    *f = NULL;
  }
}

static inline void cleanup_closedirp(DIR **d) {
  if (*d) {
    int saved = errno;
    closedir(*d);
    errno = saved;
    *d = NULL;
  }
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))

#endif
