/* export.c - an image as an oci-archive or docker-archive that `podman load` / `docker load` take,
 * optionally with one more layer made from a directory (an environment's overlayfs upper dir). */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "images/digest.h"
#include "images/store_int.h"
#include "lib/file.h"

#define BUF_SIZE (1 << 17)

struct blob {
  char digest[72];
  const char *mem; /* in memory, or */
  int fd;          /* a file */
  int64_t size;
};

static int w_err(struct archive *a, const char *what, struct cell_err *err) {
  return cell_error(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "export: %s: %s", what, archive_error_string(a));
}

static int emit(struct archive *a, const char *name, const struct blob *b, struct cell_err *err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, b->size);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return w_err(a, name, err);
  if (b->mem) {
    if (archive_write_data(a, b->mem, (size_t)b->size) != b->size) return w_err(a, name, err);
    return 0;
  }
  char *buf = malloc(BUF_SIZE);
  if (!buf) return cell_error(err, ENOMEM, "export");
  int64_t off = 0;
  while (off < b->size) {
    ssize_t n = pread(b->fd, buf, BUF_SIZE, off);
    if (n <= 0) {
      free(buf);
      return cell_error(err, n < 0 ? errno : EIO, "export: read blob %s", b->digest);
    }
    if (archive_write_data(a, buf, (size_t)n) != n) {
      free(buf);
      return w_err(a, name, err);
    }
    off += n;
  }
  free(buf);
  return 0;
}

static int emit_dir(struct archive *a, const char *name, struct cell_err *err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  return r == ARCHIVE_OK ? 0 : w_err(a, name, err);
}

/* ---- the extra layer: a dir tree (overlayfs upper) as a tar with .wh. entries ---- */
struct links {
  struct {
    dev_t dev;
    ino_t ino;
    char *path;
  } *v;
  size_t n, cap;
};

static void add_xattrs(struct archive_entry *e, int fd) {
  char names[8192];
  ssize_t n = flistxattr(fd, names, sizeof names);
  for (ssize_t i = 0; i > -1 && i < n; i += (ssize_t)strlen(names + i) + 1) {
    const char *nm = names + i;
    char out[XATTR_NAME_MAX + 1];
    if (!strncmp(nm, "trusted.overlay.overlay.", 24)) snprintf(out, sizeof out, "trusted.overlay.%s", nm + 24);
    else if (!strncmp(nm, "trusted.overlay.", 16)) continue; /* overlayfs' own */
    else snprintf(out, sizeof out, "%s", nm);
    char val[65536];
    ssize_t vl = fgetxattr(fd, nm, val, sizeof val);
    if (vl >= 0) archive_entry_xattr_add_entry(e, out, val, (size_t)vl);
  }
}

static int tree(struct archive *a, int dirfd, const char *prefix, struct links *lk, struct cell_err *err);

static int tree_entry(struct archive *a, int dirfd, const char *name, const char *path, struct links *lk,
                      struct cell_err *err) {
  struct stat sb;
  if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return cell_error(err, errno, "export layer: %s", path);
  struct archive_entry *e = archive_entry_new();
  int r = -1, fd = -1;
  if (S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0)) { /* an overlayfs whiteout */
    char wh[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(wh, sizeof wh, "%.*s.wh.%s", slash ? (int)(slash - path + 1) : 0, path, name);
    archive_entry_set_pathname(e, wh);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : w_err(a, wh, err);
    goto out;
  }
  archive_entry_copy_stat(e, &sb);
  archive_entry_set_pathname(e, path);
  if (S_ISREG(sb.st_mode) && sb.st_nlink > 1) {
    for (size_t i = 0; i < lk->n; i++)
      if (lk->v[i].dev == sb.st_dev && lk->v[i].ino == sb.st_ino) {
        archive_entry_set_hardlink(e, lk->v[i].path);
        archive_entry_set_size(e, 0);
        r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : w_err(a, path, err);
        goto out;
      }
    if (lk->n == lk->cap) {
      size_t nc = lk->cap ? lk->cap * 2 : 32;
      void *nv = realloc(lk->v, nc * sizeof *lk->v);
      if (!nv) goto oom;
      lk->v = nv;
      lk->cap = nc;
    }
    lk->v[lk->n].dev = sb.st_dev;
    lk->v[lk->n].ino = sb.st_ino;
    if (!(lk->v[lk->n].path = strdup(path))) goto oom;
    lk->n++;
  }
  if (S_ISLNK(sb.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
    if (n < 0) {
      cell_error(err, errno, "export layer: readlink %s", path);
      goto out;
    }
    target[n] = 0;
    archive_entry_set_symlink(e, target);
  } else if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) {
    fd = openat(dirfd, name, (S_ISDIR(sb.st_mode) ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      cell_error(err, errno, "export layer: open %s", path);
      goto out;
    }
    add_xattrs(e, fd);
  }
  if (archive_write_header(a, e) != ARCHIVE_OK) {
    w_err(a, path, err);
    goto out;
  }
  if (S_ISREG(sb.st_mode)) {
    struct blob b = {.fd = fd, .size = sb.st_size};
    char buf[BUF_SIZE / 4];
    for (int64_t off = 0; off < b.size;) {
      ssize_t n = pread(fd, buf, sizeof buf, off);
      if (n <= 0) {
        cell_error(err, n < 0 ? errno : EIO, "export layer: read %s", path);
        goto out;
      }
      if (archive_write_data(a, buf, (size_t)n) != n) {
        w_err(a, path, err);
        goto out;
      }
      off += n;
    }
  }
  if (S_ISDIR(sb.st_mode)) {
    char v[4];
    ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v);
    if (n == 1 && v[0] == 'y') {
      char op[PATH_MAX];
      snprintf(op, sizeof op, "%s/.wh..wh..opq", path);
      struct archive_entry *o = archive_entry_new();
      archive_entry_set_pathname(o, op);
      archive_entry_set_filetype(o, AE_IFREG);
      archive_entry_set_perm(o, 0644);
      archive_entry_set_size(o, 0);
      int hr = archive_write_header(a, o);
      archive_entry_free(o);
      if (hr != ARCHIVE_OK) {
        w_err(a, op, err);
        goto out;
      }
    }
    if (tree(a, fd, path, lk, err) < 0) goto out;
  }
  r = 0;
  goto out;
oom:
  cell_error(err, ENOMEM, "export layer");
out:
  if (fd >= 0) close(fd);
  archive_entry_free(e);
  return r;
}

static int tree(struct archive *a, int dirfd, const char *prefix, struct links *lk, struct cell_err *err) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return cell_error(err, errno, "export layer: read %s", *prefix ? prefix : "/");
  }
  struct dirent *de;
  int r = 0;
  while (r == 0 && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >= (int)sizeof path)
      r = cell_error(err, ENAMETOOLONG, "export layer: %s/%s", prefix, de->d_name);
    else
      r = tree_entry(a, dirfd, de->d_name, path, lk, err);
  }
  closedir(d);
  return r;
}

/* The dir as an uncompressed tar in a temp file under the store's tmp (unlinked); its digest. */
static int make_layer(struct img_store *s, const char *dir, struct blob *b, struct cell_err *err) {
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return cell_error(err, errno, "export layer: %s", dir);
  b->fd = openat(s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (b->fd < 0) return cell_error(err, errno, "export layer: temp file in %s/tmp", s->dir);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  struct links lk = {0};
  int r = archive_write_open_fd(a, b->fd) == ARCHIVE_OK ? tree(a, dfd, "", &lk, err) : w_err(a, "open", err);
  if (archive_write_close(a) != ARCHIVE_OK && r == 0) r = w_err(a, "close", err);
  archive_write_free(a);
  for (size_t i = 0; i < lk.n; i++) free(lk.v[i].path);
  free(lk.v);
  if (r < 0) return -1;
  struct stat sb;
  fstat(b->fd, &sb);
  b->size = sb.st_size;
  struct img_hash h;
  img_hash_init(&h);
  char buf[BUF_SIZE / 4];
  for (off_t off = 0; off < sb.st_size;) {
    ssize_t n = pread(b->fd, buf, sizeof buf, off);
    if (n <= 0) return cell_error(err, errno, "export layer: read back");
    img_hash_update(&h, buf, (size_t)n);
    off += n;
  }
  img_hash_final(&h, b->digest);
  return 0;
}

struct exp {
  struct img_loaded im;
  struct blob manifest, config, *layers, extra;
  size_t n;
  char *mtext, *ctext;
  char name[300];
};

static int add_extra(struct img_store *s, struct exp *x, const char *dir, struct cell_err *err) {
  if (make_layer(s, dir, &x->extra, err) < 0) return -1;
  x->layers[x->n++] = x->extra;
  cJSON *cfg = cJSON_Duplicate(x->im.config, 1);
  cJSON *ids = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "rootfs"), "diff_ids");
  cJSON_AddItemToArray(ids, cJSON_CreateString(x->extra.digest));
  cJSON *hist = cJSON_GetObjectItem(cfg, "history");
  char ts[32];
  time_t now = time(NULL);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  if (cJSON_IsArray(hist)) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "created", ts);
    cJSON_AddStringToObject(h, "created_by", "cellctl export");
    cJSON_AddItemToArray(hist, h);
  }
  cJSON_DeleteItemFromObjectCaseSensitive(cfg, "created");
  cJSON_AddStringToObject(cfg, "created", ts);
  free(x->ctext);
  x->ctext = cJSON_PrintUnformatted(cfg);
  cJSON_Delete(cfg);
  return x->ctext ? 0 : cell_error(err, ENOMEM, "export");
}

static int build(struct img_store *s, struct exp *x, const char *ref, const char *extra, struct cell_err *err) {
  char digest[72];
  if (img_resolve(s, ref, digest, err) < 0 || img_load(s, digest, &x->im, err) < 0) return -1;
  x->layers = calloc(x->im.n + 2, sizeof *x->layers);
  if (!x->layers) return cell_error(err, ENOMEM, "export");
  for (size_t i = 0; i < x->im.n; i++, x->n++) {
    struct blob *b = &x->layers[i];
    snprintf(b->digest, sizeof b->digest, "%s", x->im.m.layers[i].digest);
    b->size = x->im.m.layers[i].size;
    b->fd = openat(s->blobsfd, b->digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (b->fd < 0) return cell_error(err, errno, "export: blob %s", b->digest);
  }
  size_t len;
  x->ctext = img_blob_read(s, x->im.m.config.digest, &len, err);
  if (!x->ctext) return -1;
  if (!extra) { /* unchanged: the stored manifest as it is (the image keeps its id) */
    x->config.mem = x->ctext;
    x->config.size = (int64_t)len;
    snprintf(x->config.digest, sizeof x->config.digest, "%s", x->im.m.config.digest);
    x->mtext = img_blob_read(s, digest, &len, err);
    if (!x->mtext) return -1;
    x->manifest.mem = x->mtext;
    x->manifest.size = (int64_t)len;
    snprintf(x->manifest.digest, sizeof x->manifest.digest, "%s", digest);
    return 0;
  }
  if (add_extra(s, x, extra, err) < 0) return -1;
  /* the manifest, rewritten when a layer was added (always OCI media types) */
  cJSON *m = cJSON_CreateObject();
  cJSON_AddNumberToObject(m, "schemaVersion", 2);
  cJSON_AddStringToObject(m, "mediaType", IMG_MT_OCI_MANIFEST);
  x->config.mem = x->ctext;
  x->config.size = (int64_t)strlen(x->ctext);
  img_sha256_buf(x->ctext, strlen(x->ctext), x->config.digest);
  cJSON *c = cJSON_AddObjectToObject(m, "config");
  cJSON_AddStringToObject(c, "mediaType", IMG_MT_OCI_CONFIG);
  cJSON_AddStringToObject(c, "digest", x->config.digest);
  cJSON_AddNumberToObject(c, "size", (double)x->config.size);
  cJSON *ls = cJSON_AddArrayToObject(m, "layers");
  for (size_t i = 0; i < x->n; i++) {
    cJSON *l = cJSON_CreateObject();
    unsigned comp = i < x->im.n ? img_layer_compression(x->im.m.layers[i].media_type) : IMG_COMP_NONE;
    cJSON_AddStringToObject(l, "mediaType", comp == IMG_COMP_GZIP ? IMG_MT_OCI_LAYER "+gzip"
                                            : comp == IMG_COMP_ZSTD ? IMG_MT_OCI_LAYER "+zstd" : IMG_MT_OCI_LAYER);
    cJSON_AddStringToObject(l, "digest", x->layers[i].digest);
    cJSON_AddNumberToObject(l, "size", (double)x->layers[i].size);
    cJSON_AddItemToArray(ls, l);
  }
  x->mtext = cJSON_PrintUnformatted(m);
  cJSON_Delete(m);
  if (!x->mtext) return cell_error(err, ENOMEM, "export");
  x->manifest.mem = x->mtext;
  x->manifest.size = (int64_t)strlen(x->mtext);
  img_sha256_buf(x->mtext, strlen(x->mtext), x->manifest.digest);
  return 0;
}

static int write_oci(struct archive *a, struct exp *x, struct cell_err *err) {
  static const char lay[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  struct blob b = {.mem = lay, .size = sizeof lay - 1};
  if (emit(a, "oci-layout", &b, err) < 0 || emit_dir(a, "blobs/", err) < 0 || emit_dir(a, "blobs/sha256/", err) < 0)
    return -1;
  char name[100];
  const struct blob *all[] = {&x->config, &x->manifest};
  for (size_t i = 0; i < x->n; i++) {
    snprintf(name, sizeof name, "blobs/sha256/%s", x->layers[i].digest + 7);
    if (emit(a, name, &x->layers[i], err) < 0) return -1;
  }
  for (int i = 0; i < 2; i++) {
    snprintf(name, sizeof name, "blobs/sha256/%s", all[i]->digest + 7);
    if (emit(a, name, all[i], err) < 0) return -1;
  }
  cJSON *ix = cJSON_CreateObject();
  cJSON_AddNumberToObject(ix, "schemaVersion", 2);
  cJSON *e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "mediaType", IMG_MT_OCI_MANIFEST);
  cJSON_AddStringToObject(e, "digest", x->manifest.digest);
  cJSON_AddNumberToObject(e, "size", (double)x->manifest.size);
  if (x->name[0]) cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "annotations"), IMG_REF_ANNOTATION, x->name);
  cJSON_AddItemToArray(cJSON_AddArrayToObject(ix, "manifests"), e);
  char *t = cJSON_PrintUnformatted(ix);
  cJSON_Delete(ix);
  if (!t) return cell_error(err, ENOMEM, "export");
  b = (struct blob){.mem = t, .size = (int64_t)strlen(t)};
  int r = emit(a, "index.json", &b, err);
  free(t);
  return r;
}

static int write_docker(struct archive *a, struct exp *x, struct cell_err *err) {
  cJSON *arr = cJSON_CreateArray(), *o = cJSON_CreateObject();
  cJSON_AddItemToArray(arr, o);
  char name[120];
  snprintf(name, sizeof name, "%s.json", x->config.digest + 7);
  cJSON_AddStringToObject(o, "Config", name);
  int r = emit(a, name, &x->config, err);
  cJSON *tags = cJSON_AddArrayToObject(o, "RepoTags");
  if (x->name[0]) cJSON_AddItemToArray(tags, cJSON_CreateString(x->name));
  cJSON *ls = cJSON_AddArrayToObject(o, "Layers");
  for (size_t i = 0; i < x->n && r == 0; i++) {
    snprintf(name, sizeof name, "%s/", x->layers[i].digest + 7);
    r = emit_dir(a, name, err);
    snprintf(name, sizeof name, "%s/layer.tar", x->layers[i].digest + 7);
    if (r == 0) r = emit(a, name, &x->layers[i], err);
    cJSON_AddItemToArray(ls, cJSON_CreateString(name));
  }
  char *t = cJSON_PrintUnformatted(arr);
  cJSON_Delete(arr);
  if (!t) return cell_error(err, ENOMEM, "export");
  struct blob b = {.mem = t, .size = (int64_t)strlen(t)};
  if (r == 0) r = emit(a, "manifest.json", &b, err);
  free(t);
  return r;
}

/* The first name of the image, for the archive when none is given. */
static void default_name(struct img_store *s, const char *digest, char *out, size_t size) {
  struct cell_err e;
  cJSON *ix = img_index_load(s, &e);
  const cJSON *it, *ms = ix ? cJSON_GetObjectItem(ix, "manifests") : NULL;
  out[0] = 0;
  cJSON_ArrayForEach(it, ms) {
    const char *d = img_entry_str(it, "digest"), *n = img_entry_name(it);
    if (d && n && !strcmp(d, digest)) {
      snprintf(out, size, "%s", n);
      break;
    }
  }
  cJSON_Delete(ix);
}

int img_export(struct img_store *s, const char *ref, const char *path, const char *format, const char *extra_layer_dir,
               const char *name, struct cell_err *err) {
  bool docker = format && !strcmp(format, "docker");
  if (format && !docker && strcmp(format, "oci")) return cell_error(err, 0, "export: format '%s' is neither oci nor docker", format);
  struct exp x = {.extra.fd = -1};
  int r = -1;
  char tmp[PATH_MAX] = "";
  struct archive *a = NULL;
  if (name && img_ref_normalize(name, x.name, sizeof x.name, err) < 0) return -1;
  if (build(s, &x, ref, extra_layer_dir, err) < 0) goto out;
  if (!name) default_name(s, x.im.digest, x.name, sizeof x.name);
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  int or;
  if (!strcmp(path, "-")) {
    or = archive_write_open_fd(a, 1);
  } else {
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    or = archive_write_open_filename(a, tmp);
  }
  if (or != ARCHIVE_OK) {
    w_err(a, path, err);
    goto out;
  }
  if ((docker ? write_docker(a, &x, err) : write_oci(a, &x, err)) < 0) goto out;
  if (archive_write_close(a) != ARCHIVE_OK) {
    w_err(a, path, err);
    goto out;
  }
  if (tmp[0] && rename(tmp, path) < 0) {
    cell_error(err, errno, "export: rename %s", path);
    goto out;
  }
  tmp[0] = 0;
  r = 0;
out:
  if (a) archive_write_free(a);
  if (tmp[0]) unlink(tmp);
  for (size_t i = 0; i < x.im.n && x.layers; i++)
    if (x.layers[i].fd >= 0) close(x.layers[i].fd);
  if (x.extra.fd >= 0) close(x.extra.fd);
  free(x.layers);
  free(x.mtext);
  free(x.ctext);
  img_loaded_free(&x.im);
  return r;
}
