/* layer.c - one pass over a layer blob: read it (hashing and optionally copying the compressed bytes),
 * decompress it (hashing the tar stream: the diff_id) and extract the tar into a directory.
 *
 * Two libarchive readers are chained: A (format raw, gzip/zstd filters) reads the blob and decompresses
 * it; B (format tar, no filter) reads A's output.  So the blob is read once, whatever happens. */
#include "images/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/digest.h"
#include "images/extract_int.h"

#define BUF_SIZE (1 << 17)

struct lio {
  struct img_layer_job *j;
  struct archive *a;
  struct img_hash c, d;
  char *cbuf, *dbuf;
  int io_errno;   /* read/write failure of the blob or the copy */
  bool too_big;   /* more bytes than the descriptor said */
};

static int copy_out(struct lio *l, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(l->j->copy_fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return l->io_errno = w < 0 ? errno : EIO, -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* read the blob: hash, copy, count */
static ssize_t blob_read(struct lio *l, char *buf) {
  ssize_t n;
  do n = read(l->j->src_fd, buf, BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n < 0) return l->io_errno = errno, -1;
  img_hash_update(&l->c, buf, (size_t)n);
  if (l->j->want_size >= 0 && l->c.n > (uint64_t)l->j->want_size) return l->too_big = true, -1;
  if (n > 0 && l->j->copy_fd >= 0 && copy_out(l, buf, (size_t)n) < 0) return -1;
  return n;
}

static la_ssize_t a_read(struct archive *a, void *p, const void **buf) {
  (void)a;
  struct lio *l = p;
  *buf = l->cbuf;
  ssize_t n = blob_read(l, l->cbuf);
  if (n < 0) archive_set_error(a, l->io_errno ? l->io_errno : EFBIG, "%s", l->too_big ? "blob larger than its descriptor's size" : strerror(l->io_errno));
  return n;
}

static la_ssize_t b_read(struct archive *b, void *p, const void **buf) {
  struct lio *l = p;
  *buf = l->dbuf;
  la_ssize_t n = archive_read_data(l->a, l->dbuf, BUF_SIZE);
  if (n < 0) {
    archive_set_error(b, archive_errno(l->a) > 0 ? archive_errno(l->a) : EIO, "%s", archive_error_string(l->a));
    return -1;
  }
  img_hash_update(&l->d, l->dbuf, (size_t)n);
  return n;
}

static int open_a(struct lio *l, struct cell_err *err) {
  struct img_layer_job *j = l->j;
  l->a = archive_read_new();
  if (!l->a) return cell_error(err, ENOMEM, "%s: libarchive", j->what);
  archive_read_support_format_raw(l->a);
  archive_read_support_filter_gzip(l->a);
  archive_read_support_filter_zstd(l->a);
  /* only to name them when refused */
  archive_read_support_filter_xz(l->a);
  archive_read_support_filter_bzip2(l->a);
  archive_read_support_filter_lzma(l->a);
  archive_read_support_filter_lz4(l->a);
  struct archive_entry *e;
  if (archive_read_open(l->a, l, NULL, a_read, NULL) != ARCHIVE_OK || archive_read_next_header(l->a, &e) != ARCHIVE_OK)
    return cell_error(err, 0, "%s: %s", j->what, archive_error_string(l->a));
  int code = archive_filter_code(l->a, 0);
  unsigned bit = img_filter_bit(code);
  if (!bit) return cell_error(err, 0, "%s: compression %s is not supported", j->what, archive_filter_name(l->a, 0));
  if (j->comp && !(j->comp & bit))
    return cell_error(err, 0, "%s: mediaType '%s' declares %s but the content is %s", j->what, j->media_type,
                      j->comp == IMG_COMP_GZIP ? "gzip" : j->comp == IMG_COMP_ZSTD ? "zstd" : "an uncompressed tar",
                      img_filter_name(code));
  j->comp_out = bit;
  return 0;
}

static int extract(struct lio *l, struct cell_err *err) {
  struct img_layer_job *j = l->j;
  struct archive *b = archive_read_new();
  if (!b) return cell_error(err, ENOMEM, "%s: libarchive", j->what);
  archive_read_support_format_tar(b);
  int r;
  if (archive_read_open(b, l, NULL, b_read, NULL) != ARCHIVE_OK) {
    r = cell_error(err, 0, "%s: %s", j->what, archive_error_string(b));
  } else {
    struct img_extract_opts o = j->opts;
    o.compression = IMG_COMP_NONE;
    r = img_extract_archive(b, b, j->unpack_dirfd, &o, err);
    if (r < 0) cell_error_wrap(err, "%s", j->what);
  }
  archive_read_free(b);
  return r;
}

static int drain(struct lio *l, struct cell_err *err) {
  la_ssize_t n;
  while ((n = archive_read_data(l->a, l->dbuf, BUF_SIZE)) > 0) img_hash_update(&l->d, l->dbuf, (size_t)n);
  if (n < 0) return cell_error(err, 0, "%s: %s", l->j->what, archive_error_string(l->a));
  ssize_t m;
  while ((m = blob_read(l, l->cbuf)) > 0) {
  }
  if (m < 0)
    return cell_error(err, l->too_big ? 0 : l->io_errno, "%s: %s", l->j->what,
                      l->too_big ? "blob larger than its descriptor's size" : "read");
  return 0;
}

static int check(struct lio *l, struct cell_err *err) {
  struct img_layer_job *j = l->j;
  j->size_out = (int64_t)l->c.n;
  img_hash_final(&l->c, j->digest_out);
  img_hash_final(&l->d, j->diff_id_out);
  if (j->want_size >= 0 && j->size_out != j->want_size)
    return cell_error(err, 0, "%s: %lld bytes, but its descriptor says %lld", j->what, (long long)j->size_out,
                      (long long)j->want_size);
  if (j->want_digest && strcmp(j->want_digest, j->digest_out))
    return cell_error(err, 0, "%s: digest mismatch: the content is %s", j->what, j->digest_out);
  if (j->want_diff_id && strcmp(j->want_diff_id, j->diff_id_out))
    return cell_error(err, 0, "%s: diff_id mismatch: the config says %s, the uncompressed content is %s", j->what,
                      j->want_diff_id, j->diff_id_out);
  return 0;
}

int img_layer_process(struct img_layer_job *j, struct cell_err *err) {
  struct lio l = {.j = j};
  int r = -1;
  l.cbuf = malloc(BUF_SIZE);
  l.dbuf = malloc(BUF_SIZE);
  if (!l.cbuf || !l.dbuf || img_hash_init(&l.c) < 0 || img_hash_init(&l.d) < 0) {
    cell_error(err, ENOMEM, "%s", j->what);
    goto out;
  }
  if (open_a(&l, err) < 0) goto out;
  if (j->unpack_dirfd >= 0 && extract(&l, err) < 0) {
    /* a wrong digest explains a broken stream better than the parse error: say that first */
    struct cell_err e2;
    if (j->want_digest && drain(&l, &e2) == 0 && check(&l, &e2) < 0) *err = e2;
    goto out;
  }
  if (drain(&l, err) < 0 || check(&l, err) < 0) goto out;
  r = 0;
out:
  if (l.a) archive_read_free(l.a);
  img_hash_free(&l.c);
  img_hash_free(&l.d);
  free(l.cbuf);
  free(l.dbuf);
  return r;
}
