/* import_int.h - the import steps shared by import.c and archive.c (images/ only). */
#ifndef CELL_IMAGES_IMPORT_INT_H
#define CELL_IMAGES_IMPORT_INT_H

#include "images/store_int.h"

struct img_layer_src {
  int srcfd;              /* the dir the blob's path is inside */
  char path[1100];        /* the blob, relative to srcfd (resolved inside it) */
  char media_type[128];   /* "" = whatever the content is */
  char digest[72];        /* "" = compute */
  int64_t size;
  enum img_whiteout_mode whiteouts;
  /* out */
  char diff_id[72];
  unsigned comp;
};

int img_stage_dirs(struct img_stage *st, struct cell_err *err);
int img_stage_blob(struct img_stage *st, const void *data, size_t len, char digest_out[72], struct cell_err *err);
/* diff_ids NULL: computed (docker-archive, rootfs tar) */
int img_stage_layers(struct img_store *s, struct img_stage *st, struct img_layer_src *src, size_t n,
                     char (*diff_ids)[72], struct cell_err *err);
int img_stage_synth(struct img_stage *st, struct img_layer_src *L, size_t n, const char *config_text,
                    size_t config_len, char id_out[72], int64_t *size_out, struct cell_err *err);
int img_stage_commit(struct img_store *s, struct img_stage *st, const char *digest, int64_t size, const char *name,
                     struct cell_err *err);
int img_import_oci_dir(struct img_store *s, struct img_stage *st, int srcfd, const char *want, const char *name,
                       char id_out[72], struct cell_err *err);
const char *img_machine_arch(void);

#endif
