/* import.c - imports: an OCI layout (dir, or staged by a pull), docker-archive, a plain rootfs tar.
 *
 * Everything lands in a staging dir first (blobs/HEX, layers/CHAINHEX), is verified there, and is then
 * renamed into the store under its lock; index.json is rewritten last.  A failure drops the staging dir;
 * a killed import leaves a staging dir whose flock is free, which the next store_open removes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "images/digest.h"
#include "images/import_int.h"
#include "images/layer.h"
#include "lib/file.h"
#include "lib/path.h"

#define RES_IN (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

int img_stage_dirs(struct img_stage *st, struct cell_err *err) {
  if (mkdirat(st->fd, "blobs", 0700) < 0 && errno != EEXIST) return cell_error(err, errno, "staging: mkdir blobs");
  if (mkdirat(st->fd, "layers", 0700) < 0 && errno != EEXIST) return cell_error(err, errno, "staging: mkdir layers");
  return 0;
}

/* Read a small JSON file of the source (inside src, no escape), capped. */
static char *read_src_json(int srcfd, const char *path, size_t *len, struct cell_err *err) {
  cleanup_close int fd = cell_path_open_in_root(srcfd, path, O_RDONLY);
  if (fd < 0) return cell_error(err, errno, "%s", path), NULL;
  struct stat sb;
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > IMG_MAX_JSON)
    return cell_error(err, 0, "%s: not a regular file of at most %u bytes", path, IMG_MAX_JSON), NULL;
  char *t = cell_read_fd(fd, len);
  if (!t) cell_error(err, errno, "read %s", path);
  return t;
}

static char *read_src_blob(int srcfd, const char *digest, size_t *len, const char *what, struct cell_err *err) {
  char path[100];
  snprintf(path, sizeof path, "blobs/sha256/%s", digest + 7);
  char *t = read_src_json(srcfd, path, len, err);
  if (!t) return cell_error_wrap(err, "%s %s", what, digest), NULL;
  char got[72];
  img_sha256_buf(t, *len, got);
  if (strcmp(got, digest)) {
    free(t);
    return cell_error(err, 0, "%s %s: digest mismatch: the content is %s", what, digest, got), NULL;
  }
  return t;
}

int img_stage_blob(struct img_stage *st, const void *data, size_t len, char digest_out[72], struct cell_err *err) {
  img_sha256_buf(data, len, digest_out);
  char path[100];
  snprintf(path, sizeof path, "blobs/%s", digest_out + 7);
  if (cell_write_atomic_at(st->fd, path, data, len, 0644, err) < 0) return cell_error_wrap(err, "staging");
  return 0;
}

const char *img_machine_arch(void) {
  struct utsname u;
  if (uname(&u) < 0) return "amd64";
  if (!strcmp(u.machine, "x86_64")) return "amd64";
  if (!strcmp(u.machine, "aarch64")) return "arm64";
  if (!strncmp(u.machine, "armv7", 5)) return "arm";
  if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386")) return "386";
  return "amd64";
}

/* The layers of a manifest: verify each blob (size, digest, diff_id) and unpack it once per chain ID.
 * Blobs already in the store and chain dirs already there are skipped. */
int img_stage_layers(struct img_store *s, struct img_stage *st, struct img_layer_src *src, size_t n,
                     char (*diff_ids)[72], struct cell_err *err) {
  int *dirs = calloc(n + 1, sizeof *dirs);
  if (!dirs) return cell_error(err, ENOMEM, "layers");
  for (size_t i = 0; i < n; i++) dirs[i] = -1;
  int r = -1;
  char chain[72] = "";
  for (size_t i = 0; i < n; i++) {
    struct img_layer_src *L = &src[i];
    char what[160];
    snprintf(what, sizeof what, "layer %zu (%s)", i, L->digest[0] ? L->digest : L->path);
    if (diff_ids && img_chain_id(i ? chain : NULL, diff_ids[i], chain) < 0) {
      cell_error(err, 0, "%s: chain id", what);
      goto out;
    }
    struct stat sb;
    bool have_blob = L->digest[0] && fstatat(s->blobsfd, L->digest + 7, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    bool have_dir = diff_ids && fstatat(s->layersfd, chain + 7, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    if (have_blob && have_dir) {
      snprintf(L->diff_id, sizeof L->diff_id, "%s", diff_ids[i]);
      dirs[i] = openat(s->layersfd, chain + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirs[i] < 0) {
        cell_error(err, errno, "%s: open layers/%s", what, chain + 7);
        goto out;
      }
      continue;
    }
    cleanup_close int bfd = cell_path_open_in_root(L->srcfd, L->path, O_RDONLY);
    if (bfd < 0) {
      cell_error(err, errno, "%s: open %s", what, L->path);
      goto out;
    }
    if (fstat(bfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
      cell_error(err, 0, "%s: %s is not a regular file", what, L->path);
      goto out;
    }
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "blobs/layer-%zu", i);
    cleanup_close int cfd = -1;
    if (!have_blob) {
      cfd = openat(st->fd, tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (cfd < 0) {
        cell_error(err, errno, "staging %s", tmpname);
        goto out;
      }
    }
    char dname[80] = "";
    if (!diff_ids || !have_dir) {
      /* without diff_ids the chain id is known only afterwards: a temporary name, renamed below */
      if (diff_ids) snprintf(dname, sizeof dname, "layers/%s", chain + 7);
      else snprintf(dname, sizeof dname, "layers/tmp-%zu", i);
      if (mkdirat(st->fd, dname, 0755) < 0 && errno != EEXIST) {
        cell_error(err, errno, "staging %s", dname);
        goto out;
      }
      dirs[i] = openat(st->fd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else if (have_dir) {
      dirs[i] = openat(s->layersfd, chain + 7, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    int lowers[IMG_MAX_LAYERS + 1];
    for (size_t k = 0; k < i; k++) lowers[k] = dirs[i - 1 - k];
    struct img_layer_job j = {
        .what = what, .src_fd = bfd, .copy_fd = cfd, .media_type = L->media_type,
        .comp = L->media_type[0] ? img_layer_compression(L->media_type) : 0,
        .want_digest = L->digest[0] ? L->digest : NULL, .want_size = L->digest[0] ? L->size : -1,
        .want_diff_id = diff_ids ? diff_ids[i] : NULL, .unpack_dirfd = dname[0] ? dirs[i] : -1,
        .opts = {.whiteouts = L->whiteouts, .allow_devices = true, .keep_owner = geteuid() == 0,
                 .lower_dirfds = lowers, .n_lower = i}};
    if (img_layer_process(&j, err) < 0) goto out;
    if (!diff_ids) {
      /* a rootfs tar: the diff_id and digest are what the content is */
      img_chain_id(i ? chain : NULL, j.diff_id_out, chain);
      char final[80];
      snprintf(final, sizeof final, "layers/%s", chain + 7);
      if (renameat2(st->fd, dname, st->fd, final, RENAME_NOREPLACE) < 0 && errno != EEXIST) {
        cell_error(err, errno, "staging %s", final);
        goto out;
      }
    }
    snprintf(L->digest, sizeof L->digest, "%s", j.digest_out);
    snprintf(L->diff_id, sizeof L->diff_id, "%s", j.diff_id_out);
    L->size = j.size_out;
    L->comp = j.comp_out;
    if (!have_blob) {
      char final[100];
      snprintf(final, sizeof final, "blobs/%s", L->digest + 7);
      if (renameat(st->fd, tmpname, st->fd, final) < 0) {
        cell_error(err, errno, "staging %s", final);
        goto out;
      }
    }
  }
  r = 0;
out:
  for (size_t i = 0; i < n; i++)
    if (dirs[i] >= 0) close(dirs[i]);
  free(dirs);
  return r;
}

/* Move everything staged into the store, then list the image.  Under the store lock. */
int img_stage_commit(struct img_store *s, struct img_stage *st, const char *digest, int64_t size, const char *name,
                     struct cell_err *err) {
  if (img_store_lock(s, err) < 0) return -1;
  int r = -1;
  /* "dirty" marks a commit in progress: killed before index.json says so, the next store_open collects
   * what was moved in for nothing */
  int dfd0 = openat(s->dirfd, "dirty", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (dfd0 < 0) {
    cell_error(err, errno, "%s/dirty", s->dir);
    goto out;
  }
  close(dfd0);
  const char *subs[] = {"blobs", "layers"};
  for (int k = 0; k < 2; k++) {
    int dst = k == 0 ? s->blobsfd : s->layersfd;
    cleanup_close int dfd = openat(st->fd, subs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
    if (!d) {
      cell_error(err, errno, "staging: read %s", subs[k]);
      goto out;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.' || strlen(de->d_name) != 64) continue;
      if (renameat2(dfd, de->d_name, dst, de->d_name, RENAME_NOREPLACE) < 0 && errno != EEXIST) {
        int e = errno;
        closedir(d);
        cell_error(err, e, "store: move %s/%s into %s", subs[k], de->d_name, s->dir);
        goto out;
      }
    }
    closedir(d);
  }
  r = img_index_add(s, digest, size, name, err);
  if (r == 0) unlinkat(s->dirfd, "dirty", 0);
out:
  img_store_unlock(s);
  return r;
}

/* A manifest + config for layers whose digests/diff_ids were computed (docker-archive, rootfs tar). */
int img_stage_synth(struct img_stage *st, struct img_layer_src *L, size_t n, const char *config_text,
                    size_t config_len, char id_out[72], int64_t *size_out, struct cell_err *err) {
  char cdigest[72];
  cJSON *cfg = NULL;
  cleanup_free char *made_cfg = NULL;
  if (!config_text) {
    cfg = cJSON_CreateObject();
    char ts[32];
    time_t now = time(NULL);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(cfg, "created", ts);
    cJSON_AddStringToObject(cfg, "architecture", img_machine_arch());
    cJSON_AddStringToObject(cfg, "os", "linux");
    cJSON *c = cJSON_AddObjectToObject(cfg, "config");
    cJSON *env = cJSON_AddArrayToObject(c, "Env");
    cJSON_AddItemToArray(env, cJSON_CreateString("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    cJSON *rootfs = cJSON_AddObjectToObject(cfg, "rootfs");
    cJSON_AddStringToObject(rootfs, "type", "layers");
    cJSON *ids = cJSON_AddArrayToObject(rootfs, "diff_ids");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(ids, cJSON_CreateString(L[i].diff_id));
    made_cfg = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    if (!made_cfg) return cell_error(err, ENOMEM, "config");
    config_text = made_cfg;
    config_len = strlen(made_cfg);
  }
  if (img_stage_blob(st, config_text, config_len, cdigest, err) < 0) return -1;
  cJSON *m = cJSON_CreateObject();
  cJSON_AddNumberToObject(m, "schemaVersion", 2);
  cJSON_AddStringToObject(m, "mediaType", IMG_MT_OCI_MANIFEST);
  cJSON *c = cJSON_AddObjectToObject(m, "config");
  cJSON_AddStringToObject(c, "mediaType", IMG_MT_OCI_CONFIG);
  cJSON_AddStringToObject(c, "digest", cdigest);
  cJSON_AddNumberToObject(c, "size", (double)config_len);
  cJSON *ls = cJSON_AddArrayToObject(m, "layers");
  for (size_t i = 0; i < n; i++) {
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "mediaType", L[i].comp == IMG_COMP_GZIP   ? IMG_MT_OCI_LAYER "+gzip"
                                            : L[i].comp == IMG_COMP_ZSTD ? IMG_MT_OCI_LAYER "+zstd"
                                                                         : IMG_MT_OCI_LAYER);
    cJSON_AddStringToObject(l, "digest", L[i].digest);
    cJSON_AddNumberToObject(l, "size", (double)L[i].size);
    cJSON_AddItemToArray(ls, l);
  }
  cleanup_free char *mt = cJSON_PrintUnformatted(m);
  cJSON_Delete(m);
  if (!mt) return cell_error(err, ENOMEM, "manifest");
  *size_out = (int64_t)strlen(mt);
  return img_stage_blob(st, mt, strlen(mt), id_out, err);
}

/* Pick the manifest of an OCI layout: the one named want (a digest), or by ref name, or the only one;
 * nested indexes resolve to this machine's platform. */
static int pick_manifest(int srcfd, const char *want, const char *want_name, char digest[72], char ref_name[256],
                         struct cell_err *err) {
  if (want) { /* named by digest (a staged pull): the index is not needed */
    snprintf(digest, 72, "%s", want);
    ref_name[0] = 0;
    return 0;
  }
  size_t len;
  cleanup_free char *t = read_src_json(srcfd, "index.json", &len, err);
  if (!t) return cell_error_wrap(err, "OCI layout");
  struct img_index ix;
  if (img_index_parse(t, len, &ix, err) < 0) return cell_error_wrap(err, "OCI layout: index.json");
  int r = -1;
  const struct img_desc *pick = NULL;
  for (size_t i = 0; i < ix.n; i++) {
    if (want && !strcmp(ix.m[i].digest, want)) pick = &ix.m[i];
    else if (!want && want_name && !strcmp(ix.m[i].ref_name, want_name)) pick = &ix.m[i];
  }
  if (!pick && !want && ix.n == 1) pick = &ix.m[0];
  if (!pick && !want && ix.n > 1 && !want_name) pick = &ix.m[0];
  if (!pick) {
    cell_error(err, ENOENT, "OCI layout: index.json lists %s", ix.n ? "no manifest of that name" : "no manifest");
    goto out;
  }
  snprintf(ref_name, 256, "%s", pick->ref_name);
  if (!strcmp(pick->media_type, IMG_MT_OCI_INDEX) || !strcmp(pick->media_type, IMG_MT_DOCKER_LIST)) {
    cleanup_free char *sub = read_src_blob(srcfd, pick->digest, &len, "index", err);
    struct img_index ix2;
    if (!sub || img_index_parse(sub, len, &ix2, err) < 0) goto out;
    const char *arch = img_machine_arch();
    for (size_t i = 0; i < ix2.n && r < 0; i++)
      if ((!ix2.m[i].os[0] || !strcmp(ix2.m[i].os, "linux")) && (!ix2.m[i].arch[0] || !strcmp(ix2.m[i].arch, arch))) {
        snprintf(digest, 72, "%s", ix2.m[i].digest);
        r = 0;
      }
    if (r < 0) cell_error(err, ENOENT, "index %s: no manifest for linux/%s", pick->digest, arch);
    img_index_free(&ix2);
    goto out;
  }
  snprintf(digest, 72, "%s", pick->digest);
  r = 0;
out:
  img_index_free(&ix);
  return r;
}

/* An OCI layout in srcfd: stage and verify everything, commit. */
int img_import_oci_dir(struct img_store *s, struct img_stage *st, int srcfd, const char *want, const char *name,
                       char id_out[72], struct cell_err *err) {
  char digest[72], ref_name[256], norm[300];
  if (pick_manifest(srcfd, want, NULL, digest, ref_name, err) < 0) return -1;
  size_t mlen, clen;
  cleanup_free char *mt = read_src_blob(srcfd, digest, &mlen, "manifest", err);
  if (!mt) return -1;
  struct img_manifest m;
  if (img_manifest_parse(mt, mlen, &m, err) < 0) return cell_error_wrap(err, "manifest %s", digest);
  int r = -1;
  char (*ids)[72] = NULL;
  size_t nids = 0;
  struct img_layer_src *L = calloc(m.n_layers + 1, sizeof *L);
  cleanup_free char *ct = read_src_blob(srcfd, m.config.digest, &clen, "config", err);
  if (!L || !ct) goto out;
  if ((int64_t)clen != m.config.size) {
    cell_error(err, 0, "config %s: %zu bytes, but the manifest says %lld", m.config.digest, clen, (long long)m.config.size);
    goto out;
  }
  if (img_config_parse(ct, clen, &ids, &nids, err) < 0) {
    cell_error_wrap(err, "config %s", m.config.digest);
    goto out;
  }
  if (nids != m.n_layers) {
    cell_error(err, 0, "config %s: \"rootfs.diff_ids\" has %zu entries, the manifest %zu layers", m.config.digest, nids, m.n_layers);
    goto out;
  }
  for (size_t i = 0; i < m.n_layers; i++) {
    L[i].srcfd = srcfd;
    snprintf(L[i].path, sizeof L[i].path, "blobs/sha256/%s", m.layers[i].digest + 7);
    snprintf(L[i].digest, sizeof L[i].digest, "%s", m.layers[i].digest);
    snprintf(L[i].media_type, sizeof L[i].media_type, "%s", m.layers[i].media_type);
    L[i].size = m.layers[i].size;
    L[i].whiteouts = IMG_WH_OVERLAY;
  }
  if (img_stage_dirs(st, err) < 0 || img_stage_layers(s, st, L, m.n_layers, ids, err) < 0) goto out;
  char d2[72];
  if (img_stage_blob(st, ct, clen, d2, err) < 0 || img_stage_blob(st, mt, mlen, d2, err) < 0) goto out;
  const char *nm = NULL;
  if (name) {
    if (img_ref_normalize(name, norm, sizeof norm, err) < 0) goto out;
    nm = norm;
  } else if (ref_name[0] && (strchr(ref_name, ':') || strchr(ref_name, '/'))) {
    struct cell_err e2;
    if (img_ref_normalize(ref_name, norm, sizeof norm, &e2) == 0) nm = norm;
  }
  if (img_stage_commit(s, st, digest, (int64_t)mlen, nm, err) < 0) goto out;
  snprintf(id_out, 72, "%s", digest);
  r = 0;
out:
  free(L);
  free(ids);
  img_manifest_free(&m);
  return r;
}

int img_import_layout(struct img_store *s, int layout_dirfd, const char *manifest_digest, const char *name,
                      char id_out[72], struct cell_err *err) {
  if (manifest_digest && !img_digest_valid(manifest_digest))
    return cell_error(err, 0, "manifest digest '%s' is not sha256:<64 hex>", manifest_digest);
  char norm[300];
  if (name && img_ref_normalize(name, norm, sizeof norm, err) < 0) return -1;
  struct img_stage st;
  if (img_stage_new(s, &st, err) < 0) return -1;
  int r = img_import_oci_dir(s, &st, layout_dirfd, manifest_digest, name, id_out, err);
  img_stage_drop(s, &st);
  return r;
}
