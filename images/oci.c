/* oci.c - the image formats' JSON parsers and references (oci.h). */
#include "images/oci.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/images.h"

bool img_digest_valid(const char *d) {
  if (!d || strncmp(d, "sha256:", 7)) return false;
  for (int i = 0; i < 64; i++)
    if (!((d[7 + i] >= '0' && d[7 + i] <= '9') || (d[7 + i] >= 'a' && d[7 + i] <= 'f'))) return false;
  return d[71] == 0;
}

static cJSON *parse_obj(const char *json, size_t len, const char *what, struct cell_err *err) {
  if (len > IMG_MAX_JSON) return cell_error(err, 0, "%s: %zu bytes, more than %u", what, len, IMG_MAX_JSON), NULL;
  cJSON *j = cJSON_ParseWithLength(json, len);
  if (!j) return cell_error(err, 0, "%s: not valid JSON", what), NULL;
  return j;
}

static int copy_str(const cJSON *o, const char *key, char *out, size_t size, bool required, const char *what,
                    struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v) {
    out[0] = 0;
    return required ? cell_error(err, 0, "%s: \"%s\" missing", what, key) : 0;
  }
  if (!cJSON_IsString(v)) return cell_error(err, 0, "%s: \"%s\" is not a string", what, key);
  if (strlen(v->valuestring) >= size) return cell_error(err, 0, "%s: \"%s\" too long", what, key);
  strcpy(out, v->valuestring);
  return 0;
}

static int parse_desc(const cJSON *o, struct img_desc *d, const char *what, struct cell_err *err) {
  memset(d, 0, sizeof *d);
  if (!cJSON_IsObject(o)) return cell_error(err, 0, "%s: not an object", what);
  if (copy_str(o, "mediaType", d->media_type, sizeof d->media_type, false, what, err) < 0) return -1;
  const cJSON *dg = cJSON_GetObjectItemCaseSensitive(o, "digest");
  if (!cJSON_IsString(dg)) return cell_error(err, 0, "%s: \"digest\" missing or not a string", what);
  if (!img_digest_valid(dg->valuestring))
    return cell_error(err, 0, "%s: \"digest\" '%.100s' is not sha256:<64 hex>", what, dg->valuestring);
  strcpy(d->digest, dg->valuestring);
  const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
  if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 9.0e15 ||
      sz->valuedouble != (double)(int64_t)sz->valuedouble)
    return cell_error(err, 0, "%s: \"size\" missing or not a non-negative integer", what);
  d->size = (int64_t)sz->valuedouble;
  const cJSON *ann = cJSON_GetObjectItemCaseSensitive(o, "annotations");
  if (ann && !cJSON_IsObject(ann)) return cell_error(err, 0, "%s: \"annotations\" is not an object", what);
  if (ann && copy_str(ann, IMG_REF_ANNOTATION, d->ref_name, sizeof d->ref_name, false, what, err) < 0) return -1;
  const cJSON *pl = cJSON_GetObjectItemCaseSensitive(o, "platform");
  if (pl && !cJSON_IsObject(pl)) return cell_error(err, 0, "%s: \"platform\" is not an object", what);
  if (pl && (copy_str(pl, "os", d->os, sizeof d->os, false, what, err) < 0 ||
             copy_str(pl, "architecture", d->arch, sizeof d->arch, false, what, err) < 0 ||
             copy_str(pl, "variant", d->variant, sizeof d->variant, false, what, err) < 0))
    return -1;
  return 0;
}

static int check_schema(const cJSON *j, const char *what, struct cell_err *err) {
  if (!cJSON_IsObject(j)) return cell_error(err, 0, "%s: not a JSON object", what);
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "schemaVersion");
  if (!cJSON_IsNumber(sv) || sv->valuedouble != 2)
    return cell_error(err, 0, "%s: \"schemaVersion\" is not 2", what);
  return 0;
}

int img_manifest_parse(const char *json, size_t len, struct img_manifest *m, struct cell_err *err) {
  memset(m, 0, sizeof *m);
  cJSON *j = parse_obj(json, len, "manifest", err);
  if (!j) return -1;
  int r = -1;
  if (check_schema(j, "manifest", err) < 0) goto out;
  if (copy_str(j, "mediaType", m->media_type, sizeof m->media_type, false, "manifest", err) < 0) goto out;
  if (m->media_type[0] && strcmp(m->media_type, IMG_MT_OCI_MANIFEST) && strcmp(m->media_type, IMG_MT_DOCKER_MANIFEST)) {
    cell_error(err, 0, "manifest: \"mediaType\" '%s' is not an image manifest", m->media_type);
    goto out;
  }
  if (parse_desc(cJSON_GetObjectItemCaseSensitive(j, "config"), &m->config, "manifest: \"config\"", err) < 0) goto out;
  const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "layers");
  if (!cJSON_IsArray(ls)) {
    cell_error(err, 0, "manifest: \"layers\" missing or not an array");
    goto out;
  }
  int n = cJSON_GetArraySize(ls);
  if (n > IMG_MAX_LAYERS) {
    cell_error(err, 0, "manifest: %d \"layers\", more than %d", n, IMG_MAX_LAYERS);
    goto out;
  }
  m->layers = calloc((size_t)n + 1, sizeof *m->layers);
  if (!m->layers) {
    cell_error(err, ENOMEM, "manifest");
    goto out;
  }
  const cJSON *l;
  cJSON_ArrayForEach(l, ls) {
    char what[64];
    snprintf(what, sizeof what, "manifest: \"layers\"[%zu]", m->n_layers);
    if (parse_desc(l, &m->layers[m->n_layers], what, err) < 0) goto out;
    if (!img_layer_compression(m->layers[m->n_layers].media_type)) {
      cell_error(err, 0, "%s: \"mediaType\" '%s' is not a layer type cell takes", what, m->layers[m->n_layers].media_type);
      goto out;
    }
    m->n_layers++;
  }
  r = 0;
out:
  cJSON_Delete(j);
  if (r < 0) img_manifest_free(m);
  return r;
}

void img_manifest_free(struct img_manifest *m) {
  free(m->layers);
  m->layers = NULL;
  m->n_layers = 0;
}

int img_index_parse(const char *json, size_t len, struct img_index *ix, struct cell_err *err) {
  memset(ix, 0, sizeof *ix);
  cJSON *j = parse_obj(json, len, "index", err);
  if (!j) return -1;
  int r = -1;
  if (check_schema(j, "index", err) < 0) goto out;
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "manifests");
  if (!cJSON_IsArray(ms)) {
    cell_error(err, 0, "index: \"manifests\" missing or not an array");
    goto out;
  }
  int n = cJSON_GetArraySize(ms);
  if (n > 100000) {
    cell_error(err, 0, "index: %d \"manifests\": too many", n);
    goto out;
  }
  ix->m = calloc((size_t)n + 1, sizeof *ix->m);
  if (!ix->m) {
    cell_error(err, ENOMEM, "index");
    goto out;
  }
  const cJSON *e;
  cJSON_ArrayForEach(e, ms) {
    char what[64];
    snprintf(what, sizeof what, "index: \"manifests\"[%zu]", ix->n);
    if (parse_desc(e, &ix->m[ix->n], what, err) < 0) goto out;
    ix->n++;
  }
  r = 0;
out:
  cJSON_Delete(j);
  if (r < 0) img_index_free(ix);
  return r;
}

void img_index_free(struct img_index *ix) {
  free(ix->m);
  ix->m = NULL;
  ix->n = 0;
}

int img_config_parse(const char *json, size_t len, char (**diff_ids)[72], size_t *n, struct cell_err *err) {
  *diff_ids = NULL;
  *n = 0;
  cJSON *j = parse_obj(json, len, "config", err);
  if (!j) return -1;
  int r = -1;
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
  const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(j, "rootfs");
  const cJSON *ids = rootfs ? cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids") : NULL;
  const cJSON *type = rootfs ? cJSON_GetObjectItemCaseSensitive(rootfs, "type") : NULL;
  if (!cJSON_IsObject(j)) cell_error(err, 0, "config: not a JSON object");
  else if (cfg && !cJSON_IsObject(cfg) && !cJSON_IsNull(cfg)) cell_error(err, 0, "config: \"config\" is not an object");
  else if (!cJSON_IsObject(rootfs)) cell_error(err, 0, "config: \"rootfs\" missing or not an object");
  else if (!cJSON_IsString(type) || strcmp(type->valuestring, "layers"))
    cell_error(err, 0, "config: \"rootfs.type\" is not \"layers\"");
  else if (!cJSON_IsArray(ids)) cell_error(err, 0, "config: \"rootfs.diff_ids\" missing or not an array");
  else if (cJSON_GetArraySize(ids) > IMG_MAX_LAYERS) cell_error(err, 0, "config: too many \"rootfs.diff_ids\"");
  else if (!(*diff_ids = calloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof **diff_ids))) cell_error(err, ENOMEM, "config");
  else {
    const cJSON *d;
    r = 0;
    cJSON_ArrayForEach(d, ids) {
      if (!cJSON_IsString(d) || !img_digest_valid(d->valuestring)) {
        r = cell_error(err, 0, "config: \"rootfs.diff_ids\"[%zu] is not sha256:<64 hex>", *n);
        break;
      }
      strcpy((*diff_ids)[(*n)++], d->valuestring);
    }
  }
  cJSON_Delete(j);
  if (r < 0) {
    free(*diff_ids);
    *diff_ids = NULL;
    *n = 0;
  }
  return r;
}

static bool safe_relpath(const char *p) {
  if (!*p || *p == '/' || strlen(p) > 1024) return false;
  for (const char *s = p; *s;) {
    const char *e = strchrnul(s, '/');
    if (e - s == 2 && s[0] == '.' && s[1] == '.') return false;
    s = *e ? e + 1 : e;
  }
  return true;
}

static char **str_array(const cJSON *a, size_t *n, const char *what, bool paths, struct cell_err *err) {
  *n = 0;
  if (!a || cJSON_IsNull(a)) return calloc(1, sizeof(char *));
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > IMG_MAX_LAYERS)
    return cell_error(err, 0, "manifest.json: \"%s\" is not an array (of at most %d)", what, IMG_MAX_LAYERS), NULL;
  char **v = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof *v);
  if (!v) return cell_error(err, ENOMEM, "manifest.json"), NULL;
  const cJSON *s;
  cJSON_ArrayForEach(s, a) {
    if (!cJSON_IsString(s) || (paths && !safe_relpath(s->valuestring)) || !(v[*n] = strdup(s->valuestring))) {
      cell_error(err, 0, "manifest.json: \"%s\"[%zu] is not a %s", what, *n, paths ? "relative path inside the archive" : "string");
      for (size_t i = 0; i < *n; i++) free(v[i]);
      free(v);
      return NULL;
    }
    (*n)++;
  }
  return v;
}

int img_docker_manifest_parse(const char *json, size_t len, struct img_docker_manifest *dm, struct cell_err *err) {
  memset(dm, 0, sizeof *dm);
  cJSON *j = parse_obj(json, len, "manifest.json", err);
  if (!j) return -1;
  int r = -1;
  const cJSON *first = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : NULL;
  const cJSON *cfg = first ? cJSON_GetObjectItemCaseSensitive(first, "Config") : NULL;
  if (!cJSON_IsObject(first)) cell_error(err, 0, "manifest.json: not an array of image objects");
  else if (!cJSON_IsString(cfg) || !safe_relpath(cfg->valuestring))
    cell_error(err, 0, "manifest.json: [0].\"Config\" missing or not a relative path inside the archive");
  else if (!(dm->config = strdup(cfg->valuestring))) cell_error(err, ENOMEM, "manifest.json");
  else if ((dm->repo_tags = str_array(cJSON_GetObjectItemCaseSensitive(first, "RepoTags"), &dm->n_tags, "RepoTags", false, err)) &&
           (dm->layers = str_array(cJSON_GetObjectItemCaseSensitive(first, "Layers"), &dm->n_layers, "Layers", true, err)))
    r = 0;
  cJSON_Delete(j);
  if (r < 0) img_docker_manifest_free(dm);
  return r;
}

void img_docker_manifest_free(struct img_docker_manifest *dm) {
  free(dm->config);
  for (size_t i = 0; dm->repo_tags && i < dm->n_tags; i++) free(dm->repo_tags[i]);
  for (size_t i = 0; dm->layers && i < dm->n_layers; i++) free(dm->layers[i]);
  free(dm->repo_tags);
  free(dm->layers);
  memset(dm, 0, sizeof *dm);
}

unsigned img_layer_compression(const char *mt) {
  static const struct {
    const char *mt;
    unsigned comp;
  } known[] = {
      {IMG_MT_OCI_LAYER, IMG_COMP_NONE},
      {IMG_MT_OCI_LAYER "+gzip", IMG_COMP_GZIP},
      {IMG_MT_OCI_LAYER "+zstd", IMG_COMP_ZSTD},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", IMG_COMP_NONE},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMG_COMP_GZIP},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMG_COMP_ZSTD},
      {IMG_MT_DOCKER_LAYER, IMG_COMP_NONE},
      {IMG_MT_DOCKER_LAYER ".gzip", IMG_COMP_GZIP},
      {IMG_MT_DOCKER_LAYER ".zstd", IMG_COMP_ZSTD},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(mt, known[i].mt)) return known[i].comp;
  return 0;
}

static bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._-/", c); }

int img_ref_normalize(const char *ref, char *out, size_t size, struct cell_err *err) {
  if (!ref || !*ref) return cell_error(err, 0, "image name is empty");
  size_t len = strlen(ref);
  if (len > 255) return cell_error(err, 0, "image name '%.64s...' is longer than 255 bytes", ref);
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(slash ? slash : ref, ':');
  size_t nlen = colon ? (size_t)(colon - ref) : len;
  const char *tag = colon ? colon + 1 : "latest";
  /* a "host:port/" first component may hold ':' and uppercase */
  const char *first_slash = strchr(ref, '/');
  size_t host_len = 0;
  if (first_slash && (size_t)(first_slash - ref) < nlen) {
    const char *h = ref;
    bool hostlike = memchr(h, '.', (size_t)(first_slash - h)) || memchr(h, ':', (size_t)(first_slash - h)) ||
                    !strncmp(h, "localhost/", 10);
    if (hostlike) host_len = (size_t)(first_slash - ref) + 1;
  }
  if (nlen == 0 || nlen == host_len) return cell_error(err, 0, "image name '%s': the name part is empty", ref);
  for (size_t i = 0; i < nlen; i++) {
    char c = ref[i];
    bool ok = i < host_len ? (isalnum((unsigned char)c) || strchr(".-:/", c)) : name_char(c);
    if (!ok) return cell_error(err, 0, "image name '%s': character '%c' not allowed in the name", ref, c);
  }
  if (ref[host_len] == '/' || ref[nlen - 1] == '/' || strstr(ref, "//"))
    return cell_error(err, 0, "image name '%s': empty path component", ref);
  size_t tlen = strlen(tag);
  if (tlen == 0 || tlen > 128) return cell_error(err, 0, "image name '%s': the tag must be 1 to 128 characters", ref);
  for (size_t i = 0; i < tlen; i++)
    if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
      return cell_error(err, 0, "image name '%s': character '%c' not allowed in the tag", ref, tag[i]);
  if (tag[0] == '.' || tag[0] == '-') return cell_error(err, 0, "image name '%s': the tag starts with '%c'", ref, tag[0]);
  if (nlen + 1 + tlen + 1 > size) return cell_error(err, 0, "image name '%s' too long", ref);
  snprintf(out, size, "%.*s:%s", (int)nlen, ref, tag);
  return 0;
}

int img_chain_id(const char *parent_chain, const char *diff_id, char out[72]) {
  if (!parent_chain) {
    snprintf(out, 72, "%s", diff_id);
    return 0;
  }
  char buf[160];
  int n = snprintf(buf, sizeof buf, "%s %s", parent_chain, diff_id);
  unsigned char md[32];
  unsigned int mdlen = 0;
  if (!EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) return -1;
  strcpy(out, "sha256:");
  for (int i = 0; i < 32; i++) sprintf(out + 7 + 2 * i, "%02x", md[i]);
  return 0;
}
