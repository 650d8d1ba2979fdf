/* layer.h - verify (and unpack) one layer blob in a single pass (images/ only). */
#ifndef CELL_IMAGES_LAYER_H
#define CELL_IMAGES_LAYER_H

#include <stdint.h>

#include "images/images.h"

struct img_layer_job {
  const char *what;        /* "layer 2 (sha256:...)" for errors */
  int src_fd;              /* the blob */
  int copy_fd;             /* copy the blob here as it streams (-1: no copy) */
  const char *media_type;  /* for errors */
  unsigned comp;           /* IMG_COMP_* the mediaType declares; 0 = whatever it is (docker-archive) */
  const char *want_digest; /* NULL: compute only */
  int64_t want_size;       /* -1: any */
  const char *want_diff_id;/* NULL: compute only */
  int unpack_dirfd;        /* extract here (-1: verify only) */
  struct img_extract_opts opts;
  /* out */
  char digest_out[72], diff_id_out[72];
  int64_t size_out;
  unsigned comp_out;
};

int img_layer_process(struct img_layer_job *j, struct cell_err *err);

#endif
