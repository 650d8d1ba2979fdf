/* store_int.h - what the images/ files share (not for other folders). */
#ifndef CELL_IMAGES_STORE_INT_H
#define CELL_IMAGES_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/images.h"
#include "images/oci.h"

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

/* index.c */
struct cJSON;
struct img_loaded {
  char digest[72];
  int64_t manifest_size;
  struct img_manifest m;
  char (*diff_ids)[72];
  char (*chain)[72];
  size_t n;
  struct cJSON *config; /* the whole config blob */
};
struct cJSON *img_index_load(struct img_store *s, struct cell_err *err);
int img_index_save(struct img_store *s, struct cJSON *ix, struct cell_err *err);
const char *img_entry_str(const struct cJSON *e, const char *key);
const char *img_entry_name(const struct cJSON *e);
int img_resolve(struct img_store *s, const char *ref, char digest[72], struct cell_err *err);
int img_index_add(struct img_store *s, const char *digest, int64_t size, const char *name, struct cell_err *err);
char *img_blob_read(struct img_store *s, const char *digest, size_t *len, struct cell_err *err);
int img_load(struct img_store *s, const char *digest, struct img_loaded *im, struct cell_err *err);
void img_loaded_free(struct img_loaded *im);
/* admin.c: remove blobs and layer dirs no image references (caller holds the lock) */
int img_gc(struct img_store *s, struct cell_err *err);
/* query.c: the users of a manifest, a JSON array */
struct cJSON *img_users(struct img_store *s, const char *digest);

#endif
