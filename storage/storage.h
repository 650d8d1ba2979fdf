/* storage.h - storage for cellctl environments: disk quotas (a sparse ext4
 * image on a loop device), exact tree copies (snapshots, clones), and the
 * overlay-to-OCI layer conversion that export uses.
 *
 * Everything works on paths the caller (env/, cmd/cellctl) chooses; this
 * library knows no environment layout beyond the names it documents.  No
 * shell: mke2fs is run with fork+execvp and an argv, everything else is
 * syscalls and ioctls. */
#ifndef CELL_STORAGE_H
#define CELL_STORAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

/* ---- sizes ------------------------------------------------------------ */

/* "512M", "10G", "1.5G", "4096", "2T", "64KiB", "1g": binary units (K = 1024).
 * An empty, negative, overflowing or unknown-suffix size is an error naming
 * `what` (the option or key, e.g. "--disk" or "disk"). */
int storage_parse_size(const char *s, const char *what, uint64_t *out, struct cell_err *err);
/* "1.5G", "512M", "4096" into buf (at least 32 bytes). */
const char *storage_format_size(uint64_t n, char *buf, size_t len);

/* ---- disk quota: loop-ext4 -------------------------------------------- */

/* The smallest disk we make (mke2fs needs room for its metadata). */
#define STORAGE_DISK_MIN (16ULL << 20)

/* Create IMAGE as a sparse file of `size` bytes holding a fresh ext4 (no
 * reserved blocks, root-owned root dir with mode 0755).  Fails if IMAGE
 * exists.  On failure nothing is left. */
int storage_disk_create(const char *image, uint64_t size, struct cell_err *err);

/* Attach IMAGE to a free loop device (LOOP_CTL_GET_FREE + LOOP_CONFIGURE,
 * autoclear) and mount its ext4 on MNT with `discard` (deleted files punch
 * holes in IMAGE).  The loop device goes away with the last unmount.  An
 * IMAGE already mounted on MNT is success. */
int storage_disk_mount(const char *image, const char *mnt, struct cell_err *err);

/* Unmount MNT (when mounted) and make sure IMAGE has no loop device left
 * (detaches any still bound to it, e.g. after a SIGKILL between attach and
 * mount).  Either argument may be NULL. */
int storage_disk_umount(const char *image, const char *mnt, struct cell_err *err);

/* Grow IMAGE to new_size.  Mounted on MNT: online (extend the file,
 * LOOP_SET_CAPACITY, EXT4_IOC_RESIZE_FS), which the kernel allows only with
 * CAP_SYS_RESOURCE (EPERM and a message saying so without it; the file is
 * put back).  Not mounted: offline (e2fsck -fp, resize2fs on the file).
 * Shrinking is refused. */
int storage_disk_grow(const char *image, const char *mnt, uint64_t new_size, struct cell_err *err);

struct storage_disk_info {
  uint64_t size;       /* IMAGE's length: the quota */
  uint64_t allocated;  /* IMAGE's allocated bytes on the host (st_blocks * 512) */
  bool mounted;        /* MNT is the mounted ext4 of IMAGE */
  uint64_t fs_total;   /* when mounted: statvfs of MNT */
  uint64_t fs_used;
  uint64_t fs_avail;
  char loop_dev[32];   /* when mounted: "/dev/loopN" */
};
int storage_disk_info(const char *image, const char *mnt, struct storage_disk_info *info,
                      struct cell_err *err);

/* The name of the quota method in use for an environment whose files live
 * under DIR: "loop-ext4" when it has a disk image, else "none".  *prj gets a
 * sentence on project quota on DIR's filesystem ("available" or
 * "unavailable: <why>"), which `show` prints beside it. */
const char *storage_quota_method(const char *dir, bool has_image, char *prj, size_t prjlen);

/* The loop device bound to IMAGE into dev ("" when none); 0 or -1. */
int storage_loop_find(const char *image, char *dev, size_t devlen, struct cell_err *err);

/* ---- exact tree copies -------------------------------------------------- */

enum {
  /* Convert overlayfs whiteouts to OCI ones while copying: a 0/0 char device
   * NAME becomes an empty file .wh.NAME, a dir with trusted.overlay.opaque=y
   * gets a .wh..wh..opq file; trusted.overlay.* xattrs are dropped. */
  STORAGE_COPY_OCI_WHITEOUTS = 1 << 0,
  /* Do not try FICLONE (reflink) for regular files. */
  STORAGE_COPY_NO_REFLINK = 1 << 1,
};

struct storage_copy_stats {
  uint64_t files, dirs, links, bytes, hardlinks;
};

/* Copy the tree at SRC (a directory) to DST (must not exist; created with
 * SRC's metadata): dirs, regular files (sparse: only data extents, via
 * FICLONE or copy_file_range), symlinks, device nodes, fifos, sockets;
 * owners, modes (incl. suid/sgid/sticky), all xattrs (trusted.overlay.*,
 * security.capability, ACLs), hardlinks (by dev/ino), and mtimes/atimes.
 * Never follows a symlink.  Crosses no mount point below SRC (a nested mount
 * is an error).  On failure DST is removed.  stats may be NULL. */
int storage_copy_tree(const char *src, const char *dst, int flags, struct storage_copy_stats *stats,
                      struct cell_err *err);

/* Same, fd-relative: SRCFD a directory fd, DST created as DSTNAME under
 * DSTDIRFD. */
int storage_copy_treeat(int srcfd, int dstdirfd, const char *dstname, int flags,
                        struct storage_copy_stats *stats, struct cell_err *err);

/* Make DST's contents equal SRC's: empties DST (keeping DST itself, which may
 * be a mount point), copies SRC's children in, and gives DST SRC's owner,
 * mode, xattrs and times.  Used by snapshot restore. */
int storage_replace_contents(const char *src, const char *dst, int flags, struct cell_err *err);

/* ---- snapshots ---------------------------------------------------------- */

/* Snapshots of an environment's own files live in SNAPDIR (e.g.
 * ROOT/vps/NAME/snapshots): SNAPDIR/SNAP/files is the exact copy,
 * SNAPDIR/SNAP/created the creation time; a half-made snapshot is
 * SNAPDIR/.tmp-SNAP (removed by the next create/list/rm).  Names: [A-Za-z0-9_.-],
 * not starting with '.', at most 64 chars. */
int storage_snap_name_ok(const char *snap, struct cell_err *err);

/* Copy FILES (the upper dir or the mounted disk) to SNAPDIR/SNAP.  Syncs the
 * filesystem of FILES first (syncfs); a running environment must be frozen by
 * the caller around this call. */
int storage_snap_create(const char *snapdir, const char *snap, const char *files,
                        struct storage_copy_stats *stats, struct cell_err *err);

struct storage_snap {
  char name[72];
  int64_t created; /* unix seconds */
  uint64_t bytes;  /* allocated bytes of the snapshot's files */
};
/* The snapshots, oldest first, in a malloc'd array (*n entries). */
int storage_snap_list(const char *snapdir, struct storage_snap **out, size_t *n, struct cell_err *err);

/* Make FILES equal SNAPDIR/SNAP (the environment must be stopped). */
int storage_snap_restore(const char *snapdir, const char *snap, const char *files, struct cell_err *err);

int storage_snap_rm(const char *snapdir, const char *snap, struct cell_err *err);

/* ---- an environment's disk ----------------------------------------------
 * For env/: an environment directory DIR (ROOT/vps/NAME) whose overlay
 * upper and work dirs are DIR/data/upper and DIR/data/work.  With a disk
 * quota, DIR/disk.img is an ext4 image mounted on DIR/data (in the host's
 * mount namespace, before the start child unshares its own) that holds
 * upper/ and work/.  Without DIR/disk.img every call below is a no-op
 * returning 0 (no quota: method "none"). */

bool storage_env_has_disk(const char *envdir);

/* Give DIR a disk of `size`: a new DIR/disk.img (made as disk.img.new and
 * renamed into place) holding upper/ and work/; the files already in
 * DIR/data/upper are copied in exactly (and then removed from the host
 * dir).  DIR/data must not be mounted (the environment is stopped). */
int storage_env_disk_create(const char *envdir, uint64_t size, struct cell_err *err);

/* Mount DIR/disk.img on DIR/data and make sure upper/ and work/ exist in it
 * (start calls this before assembling the rootfs; mounted already: 0). */
int storage_env_disk_attach(const char *envdir, struct cell_err *err);

/* Unmount DIR/data and detach the loop device (stop, destroy; the running
 * environment's own mount namespace keeps the filesystem until it ends, then
 * the loop device autoclears). */
int storage_env_disk_detach(const char *envdir, struct cell_err *err);

/* set disk=SIZE: grow (online when DIR/data is mounted) or, without a disk
 * yet, storage_env_disk_create. */
int storage_env_disk_resize(const char *envdir, uint64_t size, struct cell_err *err);

struct storage_env_disk {
  const char *method;          /* "loop-ext4" or "none" */
  char project_quota[256];     /* "available ..." / "unavailable: why" */
  bool has_disk;
  struct storage_disk_info info; /* when has_disk */
};
/* What `show` prints about an environment's storage. */
int storage_env_disk_describe(const char *envdir, struct storage_env_disk *out, struct cell_err *err);

/* ---- helpers ------------------------------------------------------------ */

/* fork+execvp argv[0] with argv, stdin from /dev/null, stdout to stderr's
 * target; its last stderr lines go into err when it fails. */
int storage_run(char *const argv[], struct cell_err *err);

#endif
