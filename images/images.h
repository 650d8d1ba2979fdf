/* images.h - the image store: OCI and Docker images into verified, shared,
 * safely unpacked root filesystems (issue 9).
 *
 * The store is a content-addressed OCI image layout under ROOT/images:
 *   oci-layout, index.json      the layout (index.json lists every image; a
 *                               tagged one carries org.opencontainers.image.ref.name)
 *   blobs/sha256/HEX            manifests, configs and (compressed) layers, each
 *                               checked (size and sha256) while it streamed in
 *   layers/CHAINHEX/            each layer unpacked once per chain ID, read only,
 *                               shared: an overlayfs lower dir (whiteouts as char
 *                               0/0 devices, opaque dirs as trusted.overlay.opaque)
 *   users/MANIFESTHEX/USER      who uses an image (`image rm` refuses while any)
 *   tmp/                        staging dirs of imports in progress (each locked
 *                               by its importer; debris of dead ones is removed
 *                               by the next store_open)
 *   lock                        flock: held while an import commits or rm runs
 * An import stages everything, verifies everything, then renames it into place
 * and rewrites index.json last: a failed or killed import leaves no trace. */
#ifndef CELL_IMAGES_H
#define CELL_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct cJSON;
struct img_store;

int img_store_open(const char *root /* cellctl --root; store at ROOT/images */, struct img_store **out,
                   struct cell_err *err);
void img_store_close(struct img_store *s);

/* Import any supported archive/dir (docker-archive, OCI layout dir or oci-archive tar, plain rootfs
 * .tar/.tar.gz/.tar.zst); name "NAME[:TAG]" or NULL (then the file's own tag, or none).  id_out gets
 * "sha256:<hex>" of the manifest. */
int img_import_path(struct img_store *s, const char *path, const char *name, char id_out[72], struct cell_err *err);
/* Import an OCI image layout already staged in a directory (h-pull stages pulled blobs there);
 * manifest_digest "sha256:..." names the manifest to take; every blob is verified again. */
int img_import_layout(struct img_store *s, int layout_dirfd, const char *manifest_digest, const char *name,
                      char id_out[72], struct cell_err *err);
/* Resolve REF (name[:tag], id, or id prefix); unpack missing layers (once per chain ID, read-only,
 * shared); return a NULL-terminated array of absolute layer dirs, TOP layer first (overlayfs lowerdir
 * order). Free with img_free_strv. */
int img_rootfs_layers(struct img_store *s, const char *ref, char ***dirs_out, struct cell_err *err);
void img_free_strv(char **v);
/* The image's OCI config object ("config": Env, Cmd, Entrypoint, WorkingDir, User...), caller frees
 * (cJSON_Delete). */
int img_config(struct img_store *s, const char *ref, struct cJSON **config_out, struct cell_err *err);
/* An environment (user) starts/stops using an image: `image rm` refuses while users exist (unless
 * --force). */
int img_use(struct img_store *s, const char *ref, const char *user, struct cell_err *err);
int img_unuse(struct img_store *s, const char *ref, const char *user, struct cell_err *err);
/* Write an archive that `podman load` / `docker load` accept: format "oci" (oci-archive) or "docker"
 * (docker-archive); path "-" = stdout. extra_layer_dir: optional extra top layer (a dir tree, whiteouts
 * as overlayfs char 0/0 devices and trusted.overlay.opaque dirs -> .wh. entries) used by `cellctl
 * export` of an environment; NULL for none. */
int img_export(struct img_store *s, const char *ref, const char *path, const char *format,
               const char *extra_layer_dir, const char *name, struct cell_err *err);

/* ---- more of the store (added after the contract above; stable too) ---- */

/* Flatten the image into dir (created if missing, must be empty): every layer applied in order,
 * whiteouts applied.  The copy fallback where overlayfs is not available, and `cellctl image unpack`. */
int img_unpack(struct img_store *s, const char *ref, const char *dir, struct cell_err *err);
/* Remove an image (its name, or every name of an id); refuses while users exist unless force.  Blobs
 * and layer dirs no image references any more are removed. */
int img_remove(struct img_store *s, const char *ref, bool force, struct cell_err *err);
/* Every image, as a JSON array of {"id","names":[..],"created","size","layers","users":[..]}. */
int img_list(struct img_store *s, struct cJSON **list_out, struct cell_err *err);
/* One image: {"id","names","manifest","config","layers":[{digest,diff_id,chain_id,size,mediaType}],
 * "users"}. */
int img_inspect(struct img_store *s, const char *ref, struct cJSON **out, struct cell_err *err);

/* ---- safe extraction of a tar stream (also for `cellctl create --rootfs TAR`) ---- */

enum img_whiteout_mode {
  IMG_WH_APPLY = 0, /* flatten: ".wh.NAME" removes NAME, ".wh..wh..opq" empties the dir of what
                       earlier layers put there */
  IMG_WH_OVERLAY,   /* a layer dir for overlayfs: ".wh.NAME" -> char 0/0 NAME, opaque ->
                       trusted.overlay.opaque=y */
  IMG_WH_REFUSE,    /* a plain rootfs tar: whiteout entries are an error */
};

struct img_extract_opts {
  enum img_whiteout_mode whiteouts;
  /* compression accepted: bit set of IMG_COMP_*; 0 = all of gzip, zstd, none */
  unsigned compression;
  bool allow_devices;      /* create block/char devices (only honoured when euid 0) */
  bool keep_owner;         /* chown to the archive's uid/gid (default when euid 0) */
  uint64_t max_bytes;      /* total file data; 0 = IMG_DEFAULT_MAX_BYTES */
  uint64_t max_entries;    /* 0 = IMG_DEFAULT_MAX_ENTRIES */
  size_t max_path;         /* bytes of an entry's path; 0 = IMG_DEFAULT_MAX_PATH */
  /* IMG_WH_OVERLAY: the n_lower lower layers' dirs, top first: a path through a symlink of a lower
   * layer is refused too */
  const int *lower_dirfds;
  size_t n_lower;
};

#define IMG_COMP_NONE 1u
#define IMG_COMP_GZIP 2u
#define IMG_COMP_ZSTD 4u
#define IMG_DEFAULT_MAX_BYTES (64ull << 30)
#define IMG_DEFAULT_MAX_ENTRIES 2000000ull
#define IMG_DEFAULT_MAX_PATH 4096

/* Extract the tar stream read from tar_fd (plain, gzip or zstd, as o->compression allows) into
 * dest_dirfd.  Every path stays inside dest (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS: an entry
 * through a symlink is refused, never followed), metadata is applied through fds, hardlinks must point
 * inside, sizes/entries/paths are capped.  Errors name the entry. o may be NULL (defaults). */
int img_extract_tar(int tar_fd, int dest_dirfd, const struct img_extract_opts *o, struct cell_err *err);

#endif
