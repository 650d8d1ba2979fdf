/* pull.h - images from registries (`cellctl image pull`) and OS templates
 * built with mmdebstrap (`cellctl image bootstrap`).
 *
 * A pull speaks the OCI distribution API (registry.c) over HTTPS, or HTTP
 * with --insecure or for a localhost/127.0.0.1/[::1] registry: anonymous,
 * bearer-token (WWW-Authenticate: Bearer realm=,service=,scope= -> the token
 * endpoint) or Basic credentials from the config file.  The manifest is taken
 * by tag or by @sha256: digest, Docker v2 or OCI, and an index (manifest
 * list) is resolved to this machine's platform.  Blobs stream into a staging
 * OCI layout under the store's temp area with their size and sha256 checked
 * while they stream; a blob whose download was interrupted stays as
 * STORE_TMP/partial/sha256-HEX and the next pull resumes it with a Range
 * request (then checks the whole blob's digest).  The staged layout is handed
 * to img_import_layout, which checks it again and makes it an image.
 *
 * Mirrors and credentials: ROOT/registries.conf (JSON), e.g.
 *   {"registries": {
 *      "docker.io":      {"mirrors": ["http://127.0.0.1:5000", "mirror.example.org"]},
 *      "reg.example:5000": {"insecure": true, "username": "u", "password": "p"},
 *      "reg.internal": {"ca": "/etc/ssl/reg-ca.pem"}}}
 * For registry X a pull tries X's mirrors in order, then X itself.  A mirror
 * is "host[:port]" (HTTPS, or HTTP for a localhost one) or a URL with its
 * scheme; "insecure": true lets X (and its mirrors) be reached over HTTP;
 * "ca" is a PEM bundle that verifies X's and its mirrors' TLS certificates
 * (instead of the system's CAs); username/password are sent as Basic auth to
 * X's token endpoint (or to X when it asks for Basic).
 * CELL_REGISTRIES_CONF names another file. */
#ifndef CELL_IMAGES_PULL_H
#define CELL_IMAGES_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct cJSON;
struct img_store;

/* ---- references -------------------------------------------------------- */

/* A parsed image reference, normalized as docker does: "busybox" is
 * docker.io/library/busybox:latest; "host:5000/a/b@sha256:..." keeps the
 * registry and has no tag.  tag and digest may both be set ("a:t@sha256:.."),
 * the digest then wins. */
struct img_ref {
  char registry[256];   /* "docker.io", "127.0.0.1:5000" */
  char repository[256]; /* "library/busybox" */
  char tag[129];        /* "latest", or "" with a digest */
  char digest[72];      /* "sha256:<64 hex>", or "" */
};

/* Parse s; "latest" when neither tag nor digest is given.  Errors name s and
 * what is wrong (bad character, empty component, digest algorithm ...). */
int img_ref_parse(const char *s, struct img_ref *ref, struct cell_err *err);
/* The registry's API host: docker.io -> registry-1.docker.io; else as is. */
const char *img_ref_api_host(const struct img_ref *ref);
/* The familiar name: "busybox:latest", "127.0.0.1:5000/a/b:t", "a/b@sha256:..". */
void img_ref_familiar(const struct img_ref *ref, char *buf, size_t size);
/* The full name a pulled image gets, as podman spells it: "docker.io/library/busybox:latest"
 * (the store resolves "busybox" to it), "127.0.0.1:5000/a/b:t". */
void img_ref_canonical(const struct img_ref *ref, char *buf, size_t size);
/* localhost, 127.0.0.0/8 or [::1], with or without a port. */
bool img_host_is_local(const char *hostport);

/* ---- WWW-Authenticate --------------------------------------------------- */

struct img_challenge {
  char scheme[16]; /* "Bearer" or "Basic" (as sent; compare case-insensitively) */
  char realm[1024];
  char service[256];
  char scope[512];
};
/* Parse the first challenge of a WWW-Authenticate value (RFC 7235: scheme,
 * then comma-separated key=token or key="quoted \"string\"" params; unknown
 * params are ignored). */
int img_challenge_parse(const char *value, struct img_challenge *c, struct cell_err *err);

/* ---- platforms ---------------------------------------------------------- */

struct img_platform {
  char os[32];
  char arch[32];    /* GOARCH names: amd64, arm64, arm, 386, ppc64le, s390x, riscv64 */
  char variant[16]; /* "v7" for arm, "v8" for arm64, else "" */
};
/* This machine's platform, from uname -m. */
int img_platform_host(struct img_platform *p, struct cell_err *err);
/* Which entry of an index's "manifests" fits p: os and architecture equal,
 * the variant equal when both name one (arm64 "" and "v8" are the same; for
 * arm, an older variant fits when the exact one is missing).  Entries that are
 * attestations (os "unknown") or not manifests are skipped.  The array index,
 * or -1 with err naming the platform and the ones the index offers. */
int img_index_select(const struct cJSON *index, const struct img_platform *p, struct cell_err *err);

/* ---- mirrors config ----------------------------------------------------- */

#define IMG_MAX_ENDPOINTS 8
struct img_endpoint {
  char base[300]; /* "https://host:port" (no trailing slash) */
  bool mirror;
};
struct img_registry_conf {
  struct img_endpoint ep[IMG_MAX_ENDPOINTS]; /* mirrors in order, then the registry */
  int n;
  char username[256];
  char password[256];
  char ca_file[1024]; /* "ca": PEM CA bundle to verify the registry's (and mirrors') TLS with */
};
/* The endpoints to try for ref's registry, from the config file at path (a
 * missing file is no mirrors). insecure: the --insecure option. */
int img_registry_conf_load(const char *path, const struct img_ref *ref, bool insecure,
                           struct img_registry_conf *rc, struct cell_err *err);

/* ---- the registry client (registry.c) ----------------------------------- */

struct img_registry;
struct img_registry *img_registry_new(const struct img_ref *ref, const struct img_endpoint *ep,
                                      const struct img_registry_conf *rc, struct cell_err *err);
void img_registry_free(struct img_registry *r);

/* GET /v2/REPO/manifests/REFERENCE (tag or digest), any of the Docker and OCI
 * manifest/index types; at most 4 MiB.  *body (malloc'd, NUL terminated),
 * *len, the media type (Content-Type, else the body's mediaType) into
 * media_type, and its sha256 digest into digest ("sha256:HEX"). */
int img_registry_get_manifest(struct img_registry *r, const char *reference, char **body, size_t *len,
                              char *media_type, size_t mt_size, char digest[72], struct cell_err *err);

/* GET /v2/REPO/blobs/DIGEST into the file partial_dirfd/partial_name (kept
 * across interrupted pulls: resumed with a Range request when it holds a
 * prefix; flocked while in use, so concurrent pulls of a blob take turns),
 * checking size and digest while streaming.  On success the whole blob is
 * renamed to dest_dirfd/dest_name; a blob that does not match is deleted.
 * *fetched gets the bytes transferred by this call. */
int img_registry_get_blob(struct img_registry *r, const char *digest, int64_t size, int partial_dirfd,
                          const char *partial_name, int dest_dirfd, const char *dest_name, int64_t *fetched,
                          struct cell_err *err);

/* ---- the verbs' work ---------------------------------------------------- */

struct img_pull_opts {
  const char *name;     /* --name, or NULL: the reference's canonical name (none for a digest) */
  bool insecure;        /* --insecure: plain HTTP allowed */
  const char *conf;     /* registries.conf path, or NULL for ROOT/registries.conf */
  bool quiet;           /* no progress lines on stderr */
};
/* Pull ref into the store at root.  id_out (>= 72 bytes) gets the image id. */
int img_pull(const char *root, const char *ref, const struct img_pull_opts *o, char *id_out, size_t id_size,
             struct cell_err *err);

/* Bootstrap "debian[:SUITE]" or "ubuntu[:SUITE]" with mmdebstrap into the
 * store at root as name (NULL: "DIST:SUITE"). */
int img_bootstrap(const char *root, const char *spec, const char *name, char *id_out, size_t id_size,
                  struct cell_err *err);
/* Parse DIST[:SUITE] (defaults: debian bookworm, ubuntu noble). */
int img_bootstrap_parse(const char *spec, char *dist, size_t dsize, char *suite, size_t ssize,
                        struct cell_err *err);

#endif
