/* pull.c - `image pull` (pull.h): the manifest, its blobs into a staging
 * OCI layout (linked from the store when it has them, resumed when a
 * download was cut), then img_import_layout. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/utsname.h>
#include <stdlib.h>

#include "images/pull.h"
#include "images/store_int.h"
#include "lib/log.h"
#include "lib/file.h"

static const char *jstr(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the pull ----------------------------------------------------------- */

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct pull {
  const struct img_ref *ref;
  const char *refstr;
  struct img_store *store;
  int stage_blobs; /* the staging layout's blobs/sha256 */
  int partialfd;   /* ROOT/images/partial: interrupted downloads, kept across pulls */
  bool quiet;
  char manifest_digest[72];
  char manifest_mt[128];
  int64_t manifest_size;
  int64_t fetched; /* bytes transferred from the registry */
};

static bool digest_ok(const char *d) {
  if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71) return false;
  for (const char *p = d + 7; *p; p++)
    if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p)) return false;
  return true;
}

static int write_stage_blob(struct pull *p, const char *digest, const char *body, size_t len, struct cell_err *err) {
  return cell_write_atomic_at(p->stage_blobs, digest + 7, body, len, 0644, err);
}

/* A blob into the staging layout: linked from the store when it has it, else downloaded. */
static int stage_blob(struct pull *p, struct img_registry *r, const char *digest, int64_t size, const char *what,
                      struct cell_err *err) {
  const char *hex = digest + 7;
  struct stat st;
  if (fstatat(p->stage_blobs, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size == size) return 0;
  if (fstatat(p->store->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == size &&
      linkat(p->store->blobsfd, hex, p->stage_blobs, hex, 0) == 0)
    return 0; /* import_layout checks it again */
  char partial[80];
  int64_t got = 0;
  snprintf(partial, sizeof partial, "sha256-%s", hex);
  if (fstatat(p->partialfd, partial, &st, AT_SYMLINK_NOFOLLOW) == 0 && !p->quiet && st.st_size > 0)
    fprintf(stderr, "resuming %s %s at %lld of %lld bytes\n", what, digest, (long long)st.st_size, (long long)size);
  else if (!p->quiet)
    fprintf(stderr, "fetching %s %s (%lld bytes)\n", what, digest, (long long)size);
  int rc = img_registry_get_blob(r, digest, size, p->partialfd, partial, p->stage_blobs, hex, &got, err);
  p->fetched += got;
  if (rc < 0) return cell_error_wrap(err, "%s %s", what, digest);
  return 0;
}

static int parse_desc(const cJSON *d, const char *where, const char **digest, int64_t *size, struct cell_err *err) {
  const cJSON *sz = cJSON_GetObjectItemCaseSensitive(d, "size");
  *digest = jstr(d, "digest");
  if (!digest_ok(*digest)) return cell_error(err, 0, "%s: digest missing or not sha256:<64 hex>", where);
  if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > (double)(1ull << 40))
    return cell_error(err, 0, "%s: size missing or out of range", where);
  *size = (int64_t)sz->valuedouble;
  return 0;
}

/* The manifest (resolving an index to this platform), then its config and layers. */
static int pull_from(struct pull *p, struct img_registry *r, struct cell_err *err) {
  cleanup_free char *body = NULL;
  size_t len;
  char mt[128], digest[72];
  const char *reference = *p->ref->digest ? p->ref->digest : p->ref->tag;
  if (img_registry_get_manifest(r, reference, &body, &len, mt, sizeof mt, digest, err) < 0) return -1;
  if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)) {
    cJSON *idx = cJSON_ParseWithLength(body, len);
    struct img_platform plat;
    int i = idx ? 0 : cell_error(err, 0, "image index %s: not valid JSON", digest);
    if (i >= 0) i = img_platform_host(&plat, err);
    if (i >= 0) i = img_index_select(idx, &plat, err);
    const char *md = NULL;
    if (i >= 0) {
      md = jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(idx, "manifests"), i), "digest");
      if (!digest_ok(md)) i = cell_error(err, 0, "image index %s: entry %d has no sha256 digest", digest, i);
    }
    char want[72];
    if (i >= 0) snprintf(want, sizeof want, "%s", md);
    cJSON_Delete(idx);
    if (i < 0) return -1;
    free(body);
    body = NULL;
    if (img_registry_get_manifest(r, want, &body, &len, mt, sizeof mt, digest, err) < 0) return -1;
  }
  cJSON *m = cJSON_ParseWithLength(body, len);
  if (!m) return cell_error(err, 0, "manifest %s: not valid JSON", digest);
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(m, "schemaVersion");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m, "layers"), *l;
  const char *cd;
  int64_t csize;
  int rc = 0;
  if (!cJSON_IsNumber(sv) || sv->valueint != 2)
    rc = cell_error(err, 0, "manifest %s: schemaVersion is not 2 (Docker schema 1 is not supported)", digest);
  else if (!*mt || strstr(mt, "index") || strstr(mt, "list"))
    rc = cell_error(err, 0, "manifest %s: media type '%s' is not an image manifest", digest, mt);
  else if (!cJSON_IsArray(layers))
    rc = cell_error(err, 0, "manifest %s: no \"layers\" array", digest);
  if (!rc) rc = parse_desc(cJSON_GetObjectItemCaseSensitive(m, "config"), "manifest config", &cd, &csize, err);
  if (!rc) rc = stage_blob(p, r, cd, csize, "config", err);
  int n = 0;
  if (!rc) cJSON_ArrayForEach(l, layers) {
      const char *ld;
      int64_t lsize;
      char what[32];
      snprintf(what, sizeof what, "layer %d", ++n);
      if ((rc = parse_desc(l, what, &ld, &lsize, err)) < 0) break;
      if ((rc = stage_blob(p, r, ld, lsize, what, err)) < 0) break;
    }
  cJSON_Delete(m);
  if (!rc) rc = write_stage_blob(p, digest, body, len, err);
  if (rc < 0) return -1;
  snprintf(p->manifest_digest, sizeof p->manifest_digest, "%s", digest);
  snprintf(p->manifest_mt, sizeof p->manifest_mt, "%s", mt);
  p->manifest_size = (int64_t)len;
  return 0;
}

static int write_layout(struct pull *p, int stagefd, struct cell_err *err) {
  static const char lay[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  char idx[512];
  int n = snprintf(idx, sizeof idx,
                   "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[{\"mediaType\":\"%s\","
                   "\"digest\":\"%s\",\"size\":%lld}]}",
                   p->manifest_mt, p->manifest_digest, (long long)p->manifest_size);
  if (cell_write_atomic_at(stagefd, "oci-layout", lay, sizeof lay - 1, 0644, err) < 0) return -1;
  return cell_write_atomic_at(stagefd, "index.json", idx, (size_t)n, 0644, err);
}

static int open_dir_at(int dirfd, const char *name, const char *what, struct cell_err *err) {
  if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir %s", what);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open %s", what);
  return fd;
}

/* Partial blobs nobody resumed for a week (and nobody holds) go. */
#define PARTIAL_MAX_AGE (7 * 24 * 3600)
static void prune_partials(int partialfd) {
  int fd = dup(partialfd);
  if (fd < 0) return;
  cleanup_closedir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *de;
  time_t now = time(NULL);
  while ((de = readdir(d))) {
    struct stat st;
    if (strncmp(de->d_name, "sha256-", 7) || fstatat(partialfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (!S_ISREG(st.st_mode) || now - st.st_mtime < PARTIAL_MAX_AGE) continue;
    cleanup_close int f = openat(partialfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f >= 0 && flock(f, LOCK_EX | LOCK_NB) == 0) unlinkat(partialfd, de->d_name, 0);
  }
}

/* Try each endpoint (mirrors in order, then the registry); the last one's error stands. */
static int pull_endpoints(struct pull *p, const struct img_registry_conf *rc, struct cell_err *err) {
  for (int i = 0; i < rc->n; i++) {
    struct img_registry *r = img_registry_new(p->ref, &rc->ep[i], rc, err);
    if (!r) return -1;
    int ok = pull_from(p, r, err);
    img_registry_free(r);
    if (ok == 0) return 0;
    if (i + 1 < rc->n) cell_warn("pull %s: mirror %s failed (%s); trying the next", p->refstr, rc->ep[i].base, err->msg);
  }
  return -1;
}

int img_pull(const char *root, const char *refstr, const struct img_pull_opts *o, char *id_out, size_t id_size,
             struct cell_err *err) {
  struct img_ref ref;
  struct img_registry_conf rc;
  char conf[4096], name[600], id[72];
  if (img_ref_parse(refstr, &ref, err) < 0) return -1;
  const char *cp = o->conf ? o->conf : getenv("CELL_REGISTRIES_CONF");
  if (!cp) {
    snprintf(conf, sizeof conf, "%s/registries.conf", root);
    cp = conf;
  }
  if (img_registry_conf_load(cp, &ref, o->insecure, &rc, err) < 0) return -1;
  struct img_store *s = NULL;
  if (img_store_open(root, &s, err) < 0) return -1;
  struct pull p = {.ref = &ref, .refstr = refstr, .store = s, .stage_blobs = -1, .quiet = o->quiet};
  struct img_stage st = {.fd = -1};
  int ret = -1;
  p.partialfd = open_dir_at(s->dirfd, "partial", "the store's partial/ dir", err);
  if (p.partialfd < 0 || img_stage_new(s, &st, err) < 0) goto out;
  prune_partials(p.partialfd);
  int b = open_dir_at(st.fd, "blobs", "staging blobs", err);
  if (b < 0) goto out;
  p.stage_blobs = open_dir_at(b, "sha256", "staging blobs/sha256", err);
  close(b);
  if (p.stage_blobs < 0 || pull_endpoints(&p, &rc, err) < 0 || write_layout(&p, st.fd, err) < 0) goto out;
  if (o->name) snprintf(name, sizeof name, "%s", o->name);
  else if (*ref.tag && !*ref.digest) img_ref_canonical(&ref, name, sizeof name);
  if (img_import_layout(s, st.fd, p.manifest_digest, (o->name || (*ref.tag && !*ref.digest)) ? name : NULL, id,
                        err) < 0)
    goto out;
  snprintf(id_out, id_size, "%s", id);
  if (!o->quiet) {
    img_ref_familiar(&ref, name, sizeof name);
    fprintf(stderr, "pulled %s: %lld bytes fetched\n", name, (long long)p.fetched);
  }
  ret = 0;
out:
  if (ret < 0) cell_error_wrap(err, "pull %s", refstr);
  if (p.stage_blobs >= 0) close(p.stage_blobs);
  if (p.partialfd >= 0) close(p.partialfd);
  img_stage_drop(s, &st);
  img_store_close(s);
  return ret;
}
