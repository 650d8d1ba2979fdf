/* oci.h - parsers for the image formats' JSON (OCI manifest, index and config, docker-archive's
 * manifest.json) and image references.  Pure functions of their input (unit tests and the fuzzer call
 * them); errors name the field at fault. */
#ifndef CELL_IMAGES_OCI_H
#define CELL_IMAGES_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define IMG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define IMG_REF_ANNOTATION "org.opencontainers.image.ref.name"
#define IMG_MAX_JSON (4u << 20) /* manifests, indexes, configs: at most 4 MiB */
#define IMG_MAX_LAYERS 256

/* "sha256:" + 64 lowercase hex */
bool img_digest_valid(const char *d);

struct img_desc {
  char media_type[128];
  char digest[72];
  int64_t size;
  char ref_name[256];             /* index entries: the ref.name annotation, "" if none */
  char os[32], arch[32], variant[32]; /* index entries: the platform, "" if none */
};

struct img_manifest {
  char media_type[128];
  struct img_desc config;
  struct img_desc *layers;
  size_t n_layers;
};
int img_manifest_parse(const char *json, size_t len, struct img_manifest *m, struct cell_err *err);
void img_manifest_free(struct img_manifest *m);

struct img_index {
  struct img_desc *m;
  size_t n;
};
int img_index_parse(const char *json, size_t len, struct img_index *ix, struct cell_err *err);
void img_index_free(struct img_index *ix);

/* The config's rootfs.diff_ids (each checked to be a digest), and that "config" is an object if present. */
int img_config_parse(const char *json, size_t len, char (**diff_ids)[72], size_t *n, struct cell_err *err);

/* docker-archive's manifest.json: [{"Config": "...", "RepoTags": [...], "Layers": [...]}]; the first
 * image is taken.  Paths are relative names inside the archive (no "..", not absolute). */
struct img_docker_manifest {
  char *config;
  char **repo_tags;
  size_t n_tags;
  char **layers;
  size_t n_layers;
};
int img_docker_manifest_parse(const char *json, size_t len, struct img_docker_manifest *dm, struct cell_err *err);
void img_docker_manifest_free(struct img_docker_manifest *dm);

/* The compression a layer mediaType declares: IMG_COMP_* bit, or 0 when the mediaType is not a layer
 * type we take. */
unsigned img_layer_compression(const char *media_type);

/* "NAME[:TAG]" -> "NAME:TAG" (":latest" when no tag) in out; NAME is lowercase [a-z0-9._/-] with an
 * optional "host[:port]/" first, TAG [A-Za-z0-9_.-]{1,128}. */
int img_ref_normalize(const char *ref, char *out, size_t size, struct cell_err *err);

/* chain = sha256(parent_chain + " " + diff_id) (parent NULL: chain = diff_id) */
int img_chain_id(const char *parent_chain, const char *diff_id, char out[72]);

#endif
