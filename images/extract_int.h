/* extract_int.h - the extractor's entry points for the store (images/ only). */
#ifndef CELL_IMAGES_EXTRACT_INT_H
#define CELL_IMAGES_EXTRACT_INT_H

#include "images/images.h"

struct archive;

/* Extract the tar entries of an already opened libarchive reader (format tar) into dest_dirfd, as
 * img_extract_tar does.  filter_allowed: IMG_COMP_* the stream may use, checked against the detected
 * filter of the reader named by filter_src (the reader that decompresses; may be a itself). */
int img_extract_archive(struct archive *a, struct archive *filter_src, int dest_dirfd,
                        const struct img_extract_opts *o, struct cell_err *err);

/* "gzip", "zstd", "none" for libarchive's filter code, or NULL when it is none of them. */
const char *img_filter_name(int code);
/* The IMG_COMP_* bit for libarchive's filter code, 0 for others. */
unsigned img_filter_bit(int code);

#endif
