/* store_int.h - what the images/ files share (not for other folders). */
#ifndef CELL_IMAGES_STORE_INT_H
#define CELL_IMAGES_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/images.h"

struct img_store {
  char *dir;     /* ROOT/images */
  int dirfd;     /* ROOT/images */
  int blobsfd;   /* blobs/sha256 */
  int layersfd;  /* layers */
  int tmpfd;     /* tmp */
  int usersfd;   /* users */
  int lockfd;    /* lock (flock) */
};

/* flock the store's lock file (exclusive) / release it. */
int img_store_lock(struct img_store *s, struct cell_err *err);
void img_store_unlock(struct img_store *s);

/* A staging dir under tmp/, flocked by its owner for its lifetime. */
struct img_stage {
  char name[64];
  int fd;
};
int img_stage_new(struct img_store *s, struct img_stage *st, struct cell_err *err);
void img_stage_drop(struct img_store *s, struct img_stage *st);

#endif
