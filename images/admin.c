/* admin.c - ls, inspect, rm and the garbage collection of unreferenced blobs and layer dirs. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/store_int.h"
#include "lib/file.h"
#include "lib/log.h"

static cJSON *names_of(cJSON *ix, const char *digest) {
  cJSON *a = cJSON_CreateArray();
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ix, "manifests")) {
    const char *d = img_entry_str(e, "digest"), *n = img_entry_name(e);
    if (d && n && !strcmp(d, digest)) cJSON_AddItemToArray(a, cJSON_CreateString(n));
  }
  return a;
}

static cJSON *summary(struct img_store *s, cJSON *ix, struct img_loaded *im) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", im->digest);
  cJSON_AddItemToObject(o, "names", names_of(ix, im->digest));
  const char *created = img_entry_str(im->config, "created");
  cJSON_AddStringToObject(o, "created", created ? created : "");
  double size = (double)im->manifest_size + (double)im->m.config.size;
  for (size_t i = 0; i < im->m.n_layers; i++) size += (double)im->m.layers[i].size;
  cJSON_AddNumberToObject(o, "size", size);
  cJSON_AddNumberToObject(o, "layers", (double)im->n);
  cJSON_AddItemToObject(o, "users", img_users(s, im->digest));
  return o;
}

int img_list(struct img_store *s, cJSON **list_out, struct cell_err *err) {
  cJSON *ix = img_index_load(s, err);
  if (!ix) return -1;
  cJSON *out = cJSON_CreateArray();
  const cJSON *e;
  int r = 0;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ix, "manifests")) {
    const char *d = img_entry_str(e, "digest");
    if (!d) continue;
    bool seen = false;
    const cJSON *o;
    cJSON_ArrayForEach(o, out) seen = seen || !strcmp(img_entry_str(o, "id"), d);
    if (seen) continue;
    struct img_loaded im;
    if (img_load(s, d, &im, err) < 0) {
      r = -1;
      break;
    }
    cJSON_AddItemToArray(out, summary(s, ix, &im));
    img_loaded_free(&im);
  }
  cJSON_Delete(ix);
  if (r < 0) {
    cJSON_Delete(out);
    return -1;
  }
  *list_out = out;
  return 0;
}

int img_inspect(struct img_store *s, const char *ref, cJSON **out, struct cell_err *err) {
  char digest[72];
  if (img_resolve(s, ref, digest, err) < 0) return -1;
  struct img_loaded im;
  if (img_load(s, digest, &im, err) < 0) return -1;
  cJSON *ix = img_index_load(s, err);
  if (!ix) {
    img_loaded_free(&im);
    return -1;
  }
  cJSON *o = summary(s, ix, &im);
  cJSON_Delete(ix);
  size_t len;
  cleanup_free char *mt = img_blob_read(s, digest, &len, err);
  cJSON_AddItemToObject(o, "manifest", mt ? cJSON_ParseWithLength(mt, len) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "config", cJSON_Duplicate(im.config, 1));
  cJSON *ls = cJSON_AddArrayToObject(o, "layer_list");
  for (size_t i = 0; i < im.n; i++) {
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "digest", im.m.layers[i].digest);
    cJSON_AddStringToObject(l, "diff_id", im.diff_ids[i]);
    cJSON_AddStringToObject(l, "chain_id", im.chain[i]);
    cJSON_AddStringToObject(l, "mediaType", im.m.layers[i].media_type);
    cJSON_AddNumberToObject(l, "size", (double)im.m.layers[i].size);
    struct stat sb;
    cJSON_AddBoolToObject(l, "unpacked", fstatat(s->layersfd, im.chain[i] + 7, &sb, AT_SYMLINK_NOFOLLOW) == 0);
    cJSON_AddItemToArray(ls, l);
  }
  img_loaded_free(&im);
  *out = o;
  return 0;
}

struct marks {
  char (*v)[65];
  size_t n, cap;
};

static void mark(struct marks *m, const char *digest) {
  if (m->n == m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 64;
    void *nv = realloc(m->v, nc * sizeof *m->v);
    if (!nv) return;
    m->v = nv;
    m->cap = nc;
  }
  snprintf(m->v[m->n++], 65, "%s", digest + 7);
}

static bool marked(const struct marks *m, const char *hex) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->v[i], hex)) return true;
  return false;
}

static void mark_image(struct img_store *s, const char *digest, struct marks *blobs, struct marks *chains) {
  struct img_loaded im;
  struct cell_err e;
  mark(blobs, digest);
  if (img_load(s, digest, &im, &e) < 0) return;
  mark(blobs, im.m.config.digest);
  for (size_t i = 0; i < im.n; i++) {
    mark(blobs, im.m.layers[i].digest);
    mark(chains, im.chain[i]);
  }
  img_loaded_free(&im);
}

static void sweep(int dirfd, const char *what, const struct marks *keep) {
  int fd = dup(dirfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.' && !marked(keep, de->d_name) && cell_rm_rf_at(dirfd, de->d_name) < 0)
      cell_warn("images: removing %s/%s: %s", what, de->d_name, strerror(errno));
  closedir(d);
}

/* Remove what no image (listed, or still used after a forced rm) references.  Under the lock. */
static int gc(struct img_store *s, cJSON *ix, struct cell_err *err) {
  (void)err;
  if (!ix) return 0;
  struct marks blobs = {0}, chains = {0};
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ix, "manifests")) {
    const char *d = img_entry_str(e, "digest");
    if (d && img_digest_valid(d)) mark_image(s, d, &blobs, &chains);
  }
  int fd = dup(s->usersfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char dg[80];
    snprintf(dg, sizeof dg, "sha256:%s", de->d_name);
    if (img_digest_valid(dg)) mark_image(s, dg, &blobs, &chains);
  }
  if (d) closedir(d);
  sweep(s->blobsfd, "blobs/sha256", &blobs);
  sweep(s->layersfd, "layers", &chains);
  free(blobs.v);
  free(chains.v);
  return 0;
}

int img_gc(struct img_store *s, struct cell_err *err) {
  cJSON *ix = img_index_load(s, err);
  if (!ix) return -1;
  int r = gc(s, ix, err);
  cJSON_Delete(ix);
  return r;
}

int img_remove(struct img_store *s, const char *ref, bool force, struct cell_err *err) {
  char digest[72], norm[300] = "";
  if (img_resolve(s, ref, digest, err) < 0) return -1;
  struct cell_err e2;
  img_ref_normalize(ref, norm, sizeof norm, &e2);
  if (img_store_lock(s, err) < 0) return -1;
  int r = -1;
  cJSON *ix = img_index_load(s, err);
  if (!ix) goto out;
  cJSON *ms = cJSON_GetObjectItemCaseSensitive(ix, "manifests");
  /* by name: that name only, unless it is the last one; by id: every name */
  int by_name = -1, entries = 0;
  for (int i = 0; i < cJSON_GetArraySize(ms); i++) {
    const cJSON *e = cJSON_GetArrayItem(ms, i);
    const char *d = img_entry_str(e, "digest"), *n = img_entry_name(e);
    if (!d || strcmp(d, digest)) continue;
    entries++;
    if (n && !strcmp(n, norm)) by_name = i;
  }
  bool last = by_name < 0 || entries == 1;
  if (last) {
    cJSON *users = img_users(s, digest);
    int nu = cJSON_GetArraySize(users);
    cleanup_free char *ul = cJSON_PrintUnformatted(users);
    cJSON_Delete(users);
    if (nu && !force) {
      cell_error(err, EBUSY, "image '%s' is used by %s (rm --force removes it anyway)", ref, ul ? ul : "environments");
      goto out;
    }
    for (int i = cJSON_GetArraySize(ms) - 1; i >= 0; i--) {
      const char *d = img_entry_str(cJSON_GetArrayItem(ms, i), "digest");
      if (d && !strcmp(d, digest)) cJSON_DeleteItemFromArray(ms, i);
    }
  } else {
    cJSON_DeleteItemFromArray(ms, by_name);
  }
  if (img_index_save(s, ix, err) < 0) goto out;
  r = last ? gc(s, ix, err) : 0;
out:
  cJSON_Delete(ix);
  img_store_unlock(s);
  return r;
}
