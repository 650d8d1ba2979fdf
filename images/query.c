/* query.c - using the store: layer dirs for overlayfs, a flattened copy, config, users, ls, inspect, rm. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/layer.h"
#include "images/store_int.h"
#include "lib/file.h"

static int open_image(struct img_store *s, const char *ref, struct img_loaded *im, struct cell_err *err) {
  char digest[72];
  if (img_resolve(s, ref, digest, err) < 0) return -1;
  return img_load(s, digest, im, err);
}

/* Unpack layer i of im into a staged dir and move it to layers/CHAIN (when missing). */
static int ensure_layer(struct img_store *s, struct img_loaded *im, size_t i, struct cell_err *err) {
  struct stat sb;
  if (fstatat(s->layersfd, im->chain[i] + 7, &sb, AT_SYMLINK_NOFOLLOW) == 0) return 0;
  struct img_stage st;
  if (img_stage_new(s, &st, err) < 0) return -1;
  int lowers[IMG_MAX_LAYERS + 1], r = -1;
  size_t nl = 0;
  cleanup_close int bfd = -1, dfd = -1;
  for (size_t k = i; k-- > 0;) {
    lowers[nl] = openat(s->layersfd, im->chain[k] + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lowers[nl] < 0) {
      cell_error(err, errno, "layers/%s", im->chain[k] + 7);
      goto out;
    }
    nl++;
  }
  char what[160];
  snprintf(what, sizeof what, "layer %zu (%s)", i, im->m.layers[i].digest);
  bfd = openat(s->blobsfd, im->m.layers[i].digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (bfd < 0) {
    cell_error(err, errno, "%s: blob", what);
    goto out;
  }
  if (mkdirat(st.fd, "l", 0755) < 0 || (dfd = openat(st.fd, "l", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    cell_error(err, errno, "staging");
    goto out;
  }
  struct img_layer_job j = {.what = what, .src_fd = bfd, .copy_fd = -1, .media_type = im->m.layers[i].media_type,
                            .comp = img_layer_compression(im->m.layers[i].media_type),
                            .want_digest = im->m.layers[i].digest, .want_size = im->m.layers[i].size,
                            .want_diff_id = im->diff_ids[i], .unpack_dirfd = dfd,
                            .opts = {.whiteouts = IMG_WH_OVERLAY, .allow_devices = true, .keep_owner = geteuid() == 0,
                                     .lower_dirfds = lowers, .n_lower = nl}};
  if (img_layer_process(&j, err) < 0) goto out;
  if (img_store_lock(s, err) < 0) goto out;
  if (renameat2(st.fd, "l", s->layersfd, im->chain[i] + 7, RENAME_NOREPLACE) < 0 && errno != EEXIST)
    cell_error(err, errno, "move layers/%s into place", im->chain[i] + 7);
  else
    r = 0;
  img_store_unlock(s);
out:
  while (nl) close(lowers[--nl]);
  img_stage_drop(s, &st);
  return r;
}

void img_free_strv(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

int img_rootfs_layers(struct img_store *s, const char *ref, char ***dirs_out, struct cell_err *err) {
  struct img_loaded im;
  if (open_image(s, ref, &im, err) < 0) return -1;
  int r = -1;
  char **v = calloc(im.n + 1, sizeof *v);
  if (!v) {
    cell_error(err, ENOMEM, "layers");
    goto out;
  }
  for (size_t i = 0; i < im.n; i++)
    if (ensure_layer(s, &im, i, err) < 0) goto out;
  for (size_t i = 0; i < im.n; i++) {
    if (asprintf(&v[im.n - 1 - i], "%s/layers/%s", s->dir, im.chain[i] + 7) < 0) {
      v[im.n - 1 - i] = NULL;
      cell_error(err, ENOMEM, "layers");
      goto out;
    }
  }
  *dirs_out = v;
  v = NULL;
  r = 0;
out:
  img_free_strv(v);
  img_loaded_free(&im);
  return r;
}

int img_config(struct img_store *s, const char *ref, struct cJSON **config_out, struct cell_err *err) {
  struct img_loaded im;
  if (open_image(s, ref, &im, err) < 0) return -1;
  cJSON *c = cJSON_GetObjectItemCaseSensitive(im.config, "config");
  *config_out = c && cJSON_IsObject(c) ? cJSON_Duplicate(c, 1) : cJSON_CreateObject();
  img_loaded_free(&im);
  return *config_out ? 0 : cell_error(err, ENOMEM, "config");
}

int img_unpack(struct img_store *s, const char *ref, const char *dir, struct cell_err *err) {
  struct img_loaded im;
  if (open_image(s, ref, &im, err) < 0) return -1;
  int r = -1;
  cleanup_close int dfd = -1;
  cleanup_closedir DIR *d = NULL;
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    cell_error(err, errno, "mkdir %s", dir);
    goto out;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
  if (!d) {
    cell_error(err, errno, "open %s", dir);
    goto out;
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      cell_error(err, ENOTEMPTY, "unpack into %s", dir);
      goto out;
    }
  for (size_t i = 0; i < im.n; i++) {
    char what[160];
    snprintf(what, sizeof what, "layer %zu (%s)", i, im.m.layers[i].digest);
    cleanup_close int bfd = openat(s->blobsfd, im.m.layers[i].digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0) {
      cell_error(err, errno, "%s: blob", what);
      goto out;
    }
    struct img_layer_job j = {.what = what, .src_fd = bfd, .copy_fd = -1, .media_type = im.m.layers[i].media_type,
                              .comp = img_layer_compression(im.m.layers[i].media_type),
                              .want_digest = im.m.layers[i].digest, .want_size = im.m.layers[i].size,
                              .want_diff_id = im.diff_ids[i], .unpack_dirfd = dfd,
                              .opts = {.whiteouts = IMG_WH_APPLY, .allow_devices = true, .keep_owner = geteuid() == 0}};
    if (img_layer_process(&j, err) < 0) goto out;
  }
  r = 0;
out:
  img_loaded_free(&im);
  return r;
}

/* users/MANIFESTHEX/USER */
static int user_name_ok(const char *user, struct cell_err *err) {
  if (!user || !*user || strlen(user) > 200 || strchr(user, '/') || user[0] == '.')
    return cell_error(err, 0, "image user '%s': not a plain name", user ? user : "");
  return 0;
}

int img_use(struct img_store *s, const char *ref, const char *user, struct cell_err *err) {
  char digest[72];
  if (user_name_ok(user, err) < 0 || img_resolve(s, ref, digest, err) < 0) return -1;
  if (img_store_lock(s, err) < 0) return -1;
  int r = -1;
  if (mkdirat(s->usersfd, digest + 7, 0700) < 0 && errno != EEXIST) {
    cell_error(err, errno, "users/%s", digest + 7);
  } else {
    cleanup_close int ufd = openat(s->usersfd, digest + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = ufd >= 0 ? openat(ufd, user, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd < 0) cell_error(err, errno, "users/%s/%s", digest + 7, user);
    else {
      close(fd);
      r = 0;
    }
  }
  img_store_unlock(s);
  return r;
}

int img_unuse(struct img_store *s, const char *ref, const char *user, struct cell_err *err) {
  char digest[72];
  if (user_name_ok(user, err) < 0 || img_resolve(s, ref, digest, err) < 0) return -1;
  if (img_store_lock(s, err) < 0) return -1;
  int r = 0;
  cleanup_close int ufd = openat(s->usersfd, digest + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd >= 0 && unlinkat(ufd, user, 0) < 0 && errno != ENOENT) r = cell_error(err, errno, "users/%s/%s", digest + 7, user);
  if (ufd >= 0) unlinkat(s->usersfd, digest + 7, AT_REMOVEDIR); /* when it was the last */
  img_store_unlock(s);
  return r;
}

/* The users of a manifest, as a JSON array. */
cJSON *img_users(struct img_store *s, const char *digest) {
  cJSON *a = cJSON_CreateArray();
  int fd = openat(s->usersfd, digest + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return a;
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') cJSON_AddItemToArray(a, cJSON_CreateString(de->d_name));
  closedir(d);
  return a;
}
