/* archive.c - img_import_path: what a path holds (OCI layout dir or oci-archive, docker-archive dir or
 * tar, a plain rootfs tarball) and its import. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/import_int.h"
#include "lib/file.h"
#include "lib/path.h"

enum kind { K_ROOTFS, K_IMAGE };

static bool image_entry(const char *n) {
  while (!strncmp(n, "./", 2)) n += 2;
  if (!strcmp(n, "oci-layout") || !strcmp(n, "index.json") || !strcmp(n, "manifest.json") || !strcmp(n, "repositories") ||
      !strncmp(n, "blobs/sha256/", 13))
    return true;
  /* docker's legacy "<64 hex>/layer.tar", "<64 hex>.json" */
  size_t h = strspn(n, "0123456789abcdef");
  return h == 64 && (!strcmp(n + 64, "/layer.tar") || !strcmp(n + 64, ".json") || !strcmp(n + 64, "/json"));
}

/* Image archives name their layout files among their first entries; a rootfs never has them. */
static int classify(const char *path, enum kind *k, struct cell_err *err) {
  struct archive *a = archive_read_new();
  if (!a) return cell_error(err, ENOMEM, "libarchive");
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  int r = 0;
  *k = K_ROOTFS;
  if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
    r = cell_error(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "%s: %s", path, archive_error_string(a));
  } else {
    struct archive_entry *e;
    for (int i = 0; i < 64; i++) {
      int h = archive_read_next_header(a, &e);
      if (h == ARCHIVE_EOF) break;
      if (h < ARCHIVE_WARN) break; /* the import's own pass reports it, naming the entry */
      const char *n = archive_entry_pathname(e);
      if (n && image_entry(n)) {
        *k = K_IMAGE;
        break;
      }
    }
  }
  archive_read_free(a);
  return r;
}

static int import_docker_dir(struct img_store *s, struct img_stage *st, int srcfd, const char *name, char id_out[72],
                             struct cell_err *err) {
  size_t len, clen;
  cleanup_close int mfd = cell_path_open_in_root(srcfd, "manifest.json", O_RDONLY);
  cleanup_free char *mt = mfd >= 0 ? cell_read_fd(mfd, &len) : NULL;
  if (!mt) return cell_error(err, errno, "docker-archive: manifest.json");
  struct img_docker_manifest dm;
  if (img_docker_manifest_parse(mt, len, &dm, err) < 0) return cell_error_wrap(err, "docker-archive");
  int r = -1;
  char (*ids)[72] = NULL;
  size_t nids = 0;
  cleanup_close int cfd = cell_path_open_in_root(srcfd, dm.config, O_RDONLY);
  struct stat sb;
  cleanup_free char *ct = NULL;
  struct img_layer_src *L = calloc(dm.n_layers + 1, sizeof *L);
  if (!L) goto out;
  if (cfd < 0 || fstat(cfd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > IMG_MAX_JSON ||
      !(ct = cell_read_fd(cfd, &clen))) {
    cell_error(err, errno, "docker-archive: config '%s' (manifest.json \"Config\")", dm.config);
    goto out;
  }
  if (img_config_parse(ct, clen, &ids, &nids, err) < 0) {
    cell_error_wrap(err, "docker-archive: %s", dm.config);
    goto out;
  }
  if (nids != dm.n_layers) {
    cell_error(err, 0, "docker-archive: %s has %zu \"rootfs.diff_ids\", manifest.json %zu \"Layers\"", dm.config, nids,
               dm.n_layers);
    goto out;
  }
  for (size_t i = 0; i < dm.n_layers; i++) {
    L[i].srcfd = srcfd;
    snprintf(L[i].path, sizeof L[i].path, "%s", dm.layers[i]);
    L[i].whiteouts = IMG_WH_OVERLAY;
    L[i].size = -1;
  }
  int64_t msize;
  char norm[300];
  const char *nm = NULL;
  if (name) {
    if (img_ref_normalize(name, norm, sizeof norm, err) < 0) goto out;
    nm = norm;
  } else if (dm.n_tags) {
    struct cell_err e2;
    if (img_ref_normalize(dm.repo_tags[0], norm, sizeof norm, &e2) == 0) nm = norm;
  }
  if (img_stage_dirs(st, err) < 0 || img_stage_layers(s, st, L, dm.n_layers, ids, err) < 0 ||
      img_stage_synth(st, L, dm.n_layers, ct, clen, id_out, &msize, err) < 0 ||
      img_stage_commit(s, st, id_out, msize, nm, err) < 0)
    goto out;
  r = 0;
out:
  if (!L) cell_error(err, ENOMEM, "docker-archive");
  free(L);
  free(ids);
  img_docker_manifest_free(&dm);
  return r;
}

static int import_dir(struct img_store *s, struct img_stage *st, int srcfd, const char *what, const char *name,
                      char id_out[72], struct cell_err *err) {
  struct stat sb;
  if (fstatat(srcfd, "oci-layout", &sb, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(srcfd, "index.json", &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return img_import_oci_dir(s, st, srcfd, NULL, name, id_out, err);
  if (fstatat(srcfd, "manifest.json", &sb, AT_SYMLINK_NOFOLLOW) == 0)
    return import_docker_dir(s, st, srcfd, name, id_out, err);
  return cell_error(err, 0, "%s: neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)", what);
}

static int import_rootfs(struct img_store *s, struct img_stage *st, const char *path, const char *name, char id_out[72],
                         struct cell_err *err) {
  char norm[300];
  if (name && img_ref_normalize(name, norm, sizeof norm, err) < 0) return -1;
  char dbuf[PATH_MAX], bbuf[PATH_MAX];
  snprintf(dbuf, sizeof dbuf, "%s", path);
  snprintf(bbuf, sizeof bbuf, "%s", path);
  cleanup_close int dfd = open(dirname(dbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return cell_error(err, errno, "%s", path);
  struct img_layer_src L = {.srcfd = dfd, .size = -1, .whiteouts = IMG_WH_REFUSE};
  snprintf(L.path, sizeof L.path, "%s", basename(bbuf));
  int64_t msize;
  if (img_stage_dirs(st, err) < 0 || img_stage_layers(s, st, &L, 1, NULL, err) < 0) return cell_error_wrap(err, "%s", path);
  /* the layer dir was staged under the chain id computed from the content */
  if (img_stage_synth(st, &L, 1, NULL, 0, id_out, &msize, err) < 0) return -1;
  return img_stage_commit(s, st, id_out, msize, name ? norm : NULL, err);
}

int img_import_path(struct img_store *s, const char *path, const char *name, char id_out[72], struct cell_err *err) {
  char norm[300];
  if (name && img_ref_normalize(name, norm, sizeof norm, err) < 0) return -1;
  struct stat sb;
  if (stat(path, &sb) < 0) return cell_error(err, errno, "%s", path);
  struct img_stage st;
  int r = -1;
  if (S_ISDIR(sb.st_mode)) {
    cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return cell_error(err, errno, "%s", path);
    if (img_stage_new(s, &st, err) < 0) return -1;
    r = import_dir(s, &st, fd, path, name, id_out, err);
    img_stage_drop(s, &st);
    return r;
  }
  if (!S_ISREG(sb.st_mode)) return cell_error(err, 0, "%s: not a file or directory", path);
  enum kind k = K_ROOTFS;
  if (classify(path, &k, err) < 0) return -1;
  if (img_stage_new(s, &st, err) < 0) return -1;
  if (k == K_ROOTFS) {
    r = import_rootfs(s, &st, path, name, id_out, err);
  } else {
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    cleanup_close int srcfd = -1;
    struct img_extract_opts o = {.whiteouts = IMG_WH_REFUSE, .allow_devices = false, .keep_owner = false};
    if (fd < 0) cell_error(err, errno, "%s", path);
    else if (mkdirat(st.fd, "src", 0700) < 0 || (srcfd = openat(st.fd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      cell_error(err, errno, "staging: src");
    else if (img_extract_tar(fd, srcfd, &o, err) < 0) cell_error_wrap(err, "%s", path);
    else r = import_dir(s, &st, srcfd, path, name, id_out, err);
  }
  img_stage_drop(s, &st);
  return r;
}
