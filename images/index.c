/* index.c - the store's index.json (which manifests are images, under which names) and reading blobs. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/digest.h"
#include "images/oci.h"
#include "images/store_int.h"
#include "lib/file.h"

cJSON *img_index_load(struct img_store *s, struct cell_err *err) {
  size_t len = 0;
  cleanup_free char *text = cell_read_fileat(s->dirfd, "index.json", &len);
  if (!text) return cell_error(err, errno, "read %s/index.json", s->dir), NULL;
  cJSON *j = cJSON_ParseWithLength(text, len);
  cJSON *ms = j ? cJSON_GetObjectItemCaseSensitive(j, "manifests") : NULL;
  if (!cJSON_IsArray(ms)) {
    cJSON_Delete(j);
    return cell_error(err, 0, "%s/index.json: not an image index (\"manifests\")", s->dir), NULL;
  }
  return j;
}

int img_index_save(struct img_store *s, cJSON *ix, struct cell_err *err) {
  cleanup_free char *text = cJSON_PrintUnformatted(ix);
  if (!text) return cell_error(err, ENOMEM, "index.json");
  if (cell_write_atomic_at(s->dirfd, "index.json", text, strlen(text), 0644, err) < 0)
    return cell_error_wrap(err, "image store %s", s->dir);
  return 0;
}

const char *img_entry_str(const cJSON *e, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *img_entry_name(const cJSON *e) {
  const cJSON *ann = cJSON_GetObjectItemCaseSensitive(e, "annotations");
  return ann ? img_entry_str(ann, IMG_REF_ANNOTATION) : NULL;
}

/* name (normalized) -> digest; or an id / id prefix (at least 4 hex). */
static int resolve_one(struct img_store *s, const char *ref, char digest[72], struct cell_err *err);

/* A short name also matches as podman and docker spell it: localhost/NAME, docker.io/[library/]NAME. */
int img_resolve(struct img_store *s, const char *ref, char digest[72], struct cell_err *err) {
  if (resolve_one(s, ref, digest, err) == 0) return 0;
  if (err->errnum != ENOENT || !strncmp(ref, "sha256:", 7)) return -1;
  const char *slash = strchr(ref, '/');
  if (slash && (memchr(ref, '.', (size_t)(slash - ref)) || memchr(ref, ':', (size_t)(slash - ref)) ||
                !strncmp(ref, "localhost/", 10)))
    return -1; /* already names its registry */
  struct cell_err first = *err;
  static const char *prefixes[] = {"localhost/", "docker.io/", "docker.io/library/"};
  for (size_t i = 0; i < 3; i++) {
    char alt[300];
    if (i == 2 && slash) break;
    if (snprintf(alt, sizeof alt, "%s%s", prefixes[i], ref) >= (int)sizeof alt) break;
    struct cell_err e2;
    if (resolve_one(s, alt, digest, &e2) == 0) return 0;
  }
  *err = first;
  return -1;
}

static int resolve_one(struct img_store *s, const char *ref, char digest[72], struct cell_err *err) {
  cJSON *ix = img_index_load(s, err);
  if (!ix) return -1;
  char norm[300] = "";
  struct cell_err e2;
  bool have_name = img_ref_normalize(ref, norm, sizeof norm, &e2) == 0;
  const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
  size_t hlen = strlen(hex);
  bool hexish = hlen >= 4 && hlen <= 64 && strspn(hex, "0123456789abcdef") == hlen;
  int found = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ix, "manifests")) {
    const char *d = img_entry_str(e, "digest"), *n = img_entry_name(e);
    if (!d || !img_digest_valid(d)) continue;
    if (have_name && n && !strcmp(n, norm)) {
      snprintf(digest, 72, "%s", d);
      found = 1;
      break;
    }
  }
  if (!found && hexish) {
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(ix, "manifests")) {
      const char *d = img_entry_str(e, "digest");
      if (!d || !img_digest_valid(d) || strncmp(d + 7, hex, hlen)) continue;
      if (found && strcmp(digest, d)) {
        cJSON_Delete(ix);
        return cell_error(err, 0, "image '%s': the id prefix is ambiguous", ref);
      }
      snprintf(digest, 72, "%s", d);
      found = 1;
    }
  }
  cJSON_Delete(ix);
  if (!found) return cell_error(err, ENOENT, "image '%s' not found in %s", ref, s->dir);
  return 0;
}

/* Add (digest, name) to the index: a name moves to the new digest; an unnamed image is listed once.
 * The caller holds the store lock. */
int img_index_add(struct img_store *s, const char *digest, int64_t size, const char *name, struct cell_err *err) {
  cJSON *ix = img_index_load(s, err);
  if (!ix) return -1;
  cJSON *ms = cJSON_GetObjectItemCaseSensitive(ix, "manifests");
  bool listed = false;
  for (int i = cJSON_GetArraySize(ms) - 1; i >= 0; i--) {
    cJSON *e = cJSON_GetArrayItem(ms, i);
    const char *d = img_entry_str(e, "digest"), *n = img_entry_name(e);
    if (name && n && !strcmp(n, name)) {
      if (d && !strcmp(d, digest)) listed = true;
      else cJSON_DeleteItemFromArray(ms, i);
    } else if (!name && d && !strcmp(d, digest)) {
      listed = true;
    } else if (name && !n && d && !strcmp(d, digest)) {
      cJSON_DeleteItemFromArray(ms, i); /* the unnamed entry becomes the named one */
    }
  }
  int r = 0;
  if (!listed) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "mediaType", IMG_MT_OCI_MANIFEST);
    cJSON_AddStringToObject(e, "digest", digest);
    cJSON_AddNumberToObject(e, "size", (double)size);
    if (name) cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "annotations"), IMG_REF_ANNOTATION, name);
    cJSON_AddItemToArray(ms, e);
    r = img_index_save(s, ix, err);
  }
  cJSON_Delete(ix);
  return r;
}

/* A small blob (manifest, config) of the store, its digest checked. */
char *img_blob_read(struct img_store *s, const char *digest, size_t *len, struct cell_err *err) {
  if (!img_digest_valid(digest)) return cell_error(err, 0, "'%s' is not a sha256 digest", digest), NULL;
  cleanup_close int fd = openat(s->blobsfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "blob %s", digest), NULL;
  struct stat sb;
  if (fstat(fd, &sb) < 0 || sb.st_size > IMG_MAX_JSON)
    return cell_error(err, errno, "blob %s: too large for JSON", digest), NULL;
  char *text = cell_read_fd(fd, len);
  if (!text) return cell_error(err, errno, "read blob %s", digest), NULL;
  char got[72];
  img_sha256_buf(text, *len, got);
  if (strcmp(got, digest)) {
    free(text);
    return cell_error(err, 0, "blob %s: corrupt (its content is %s)", digest, got), NULL;
  }
  return text;
}

int img_load(struct img_store *s, const char *digest, struct img_loaded *im, struct cell_err *err) {
  memset(im, 0, sizeof *im);
  snprintf(im->digest, sizeof im->digest, "%s", digest);
  size_t len;
  cleanup_free char *mtext = img_blob_read(s, digest, &len, err);
  if (!mtext) return -1;
  if (img_manifest_parse(mtext, len, &im->m, err) < 0) return cell_error_wrap(err, "image %s", digest);
  im->manifest_size = (int64_t)len;
  cleanup_free char *ctext = img_blob_read(s, im->m.config.digest, &len, err);
  if (!ctext || img_config_parse(ctext, len, &im->diff_ids, &im->n, err) < 0) {
    img_loaded_free(im);
    return cell_error_wrap(err, "image %s", digest);
  }
  im->config = cJSON_ParseWithLength(ctext, len);
  if (im->n != im->m.n_layers || !im->config) {
    img_loaded_free(im);
    return cell_error(err, 0, "image %s: the config's rootfs.diff_ids do not match the manifest's layers", digest);
  }
  im->chain = calloc(im->n + 1, sizeof *im->chain);
  if (!im->chain) {
    img_loaded_free(im);
    return cell_error(err, ENOMEM, "image %s", digest);
  }
  for (size_t i = 0; i < im->n; i++) img_chain_id(i ? im->chain[i - 1] : NULL, im->diff_ids[i], im->chain[i]);
  return 0;
}

void img_loaded_free(struct img_loaded *im) {
  img_manifest_free(&im->m);
  free(im->diff_ids);
  free(im->chain);
  cJSON_Delete(im->config);
  im->diff_ids = NULL;
  im->chain = NULL;
  im->config = NULL;
}
