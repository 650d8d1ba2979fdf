/* copy.c - an exact, fd-relative tree copier for snapshots, clones and the
 * export layer: owners, modes, xattrs (trusted.overlay.* included),
 * hardlinks (by dev/ino), sparse files (SEEK_DATA/SEEK_HOLE, FICLONE or
 * copy_file_range), device nodes, fifos, symlinks and times.  No symlink is
 * ever followed: every name is opened with O_NOFOLLOW relative to its
 * parent's fd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage_internal.h"

struct hl_entry {
  dev_t dev;
  ino_t ino;
  char *path; /* relative to the destination root */
};

struct copy_ctx {
  int flags;
  int dst_rootfd;
  dev_t src_dev;
  struct hl_entry *hl;
  size_t hl_n, hl_cap; /* open addressing, cap a power of two */
  struct storage_copy_stats *stats;
  struct cell_err *err;
  char rel[PATH_MAX]; /* the path being copied, relative to the roots */
};

static size_t hl_slot(struct copy_ctx *c, dev_t dev, ino_t ino) {
  size_t h = ((size_t)ino * 0x9E3779B97F4A7C15ULL) ^ (size_t)dev;
  size_t i = h & (c->hl_cap - 1);
  while (c->hl[i].path && !(c->hl[i].dev == dev && c->hl[i].ino == ino)) i = (i + 1) & (c->hl_cap - 1);
  return i;
}

static const char *hl_find(struct copy_ctx *c, const struct stat *st) {
  if (!c->hl_cap) return NULL;
  return c->hl[hl_slot(c, st->st_dev, st->st_ino)].path;
}

static int hl_add(struct copy_ctx *c, const struct stat *st) {
  if ((c->hl_n + 1) * 2 > c->hl_cap) {
    size_t ncap = c->hl_cap ? c->hl_cap * 2 : 256;
    struct hl_entry *old = c->hl;
    size_t ocap = c->hl_cap;
    c->hl = calloc(ncap, sizeof *c->hl);
    if (!c->hl) {
      c->hl = old;
      return cell_error(c->err, ENOMEM, "hardlink map");
    }
    c->hl_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
      if (old[i].path) c->hl[hl_slot(c, old[i].dev, old[i].ino)] = old[i];
    free(old);
  }
  size_t i = hl_slot(c, st->st_dev, st->st_ino);
  c->hl[i].path = strdup(c->rel);
  if (!c->hl[i].path) return cell_error(c->err, ENOMEM, "hardlink map");
  c->hl[i].dev = st->st_dev;
  c->hl[i].ino = st->st_ino;
  c->hl_n++;
  return 0;
}

static void hl_free(struct copy_ctx *c) {
  for (size_t i = 0; i < c->hl_cap; i++) free(c->hl[i].path);
  free(c->hl);
  c->hl = NULL;
  c->hl_cap = c->hl_n = 0;
}

static bool is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0); }

/* The xattrs of NAME: by fd when fd >= 0, else by "/proc/self/fd/DIRFD/NAME"
 * with the l* calls (symlinks, device nodes: no fd to open). */
struct xsrc {
  int fd;
  char path[PATH_MAX + 32];
};

static ssize_t x_list(struct xsrc *x, char *buf, size_t n) {
  return x->fd >= 0 ? flistxattr(x->fd, buf, n) : llistxattr(x->path, buf, n);
}
static ssize_t x_get(struct xsrc *x, const char *k, void *buf, size_t n) {
  return x->fd >= 0 ? fgetxattr(x->fd, k, buf, n) : lgetxattr(x->path, k, buf, n);
}
static int x_set(struct xsrc *x, const char *k, const void *v, size_t n) {
  return x->fd >= 0 ? fsetxattr(x->fd, k, v, n, 0) : lsetxattr(x->path, k, v, n, 0);
}

/* Copy every xattr of s to d; *opaque set when trusted.overlay.opaque is "y". */
static int copy_xattrs(struct copy_ctx *c, struct xsrc *s, struct xsrc *d, bool *opaque) {
  ssize_t n = x_list(s, NULL, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return 0;
    return cell_error(c->err, errno, "list xattrs of %s", c->rel);
  }
  if (n == 0) return 0;
  cleanup_free char *names = malloc((size_t)n + 1);
  if (!names) return cell_error(c->err, ENOMEM, "xattrs of %s", c->rel);
  n = x_list(s, names, (size_t)n);
  if (n < 0) return cell_error(c->err, errno, "list xattrs of %s", c->rel);
  cleanup_free char *val = NULL;
  for (char *k = names; k < names + n; k += strlen(k) + 1) {
    ssize_t vn = x_get(s, k, NULL, 0);
    if (vn < 0) return cell_error(c->err, errno, "read xattr %s of %s", k, c->rel);
    free(val);
    val = malloc((size_t)vn + 1);
    if (!val) return cell_error(c->err, ENOMEM, "xattr %s of %s", k, c->rel);
    vn = x_get(s, k, val, (size_t)vn);
    if (vn < 0) return cell_error(c->err, errno, "read xattr %s of %s", k, c->rel);
    if (c->flags & STORAGE_COPY_OCI_WHITEOUTS && strncmp(k, "trusted.overlay.", 16) == 0) {
      if (opaque && strcmp(k, "trusted.overlay.opaque") == 0 && vn == 1 && val[0] == 'y') *opaque = true;
      continue;
    }
    if (x_set(d, k, val, (size_t)vn) < 0) return cell_error(c->err, errno, "set xattr %s on %s", k, c->rel);
  }
  return 0;
}

/* Owner, xattrs, mode, times (in that order: chown clears suid bits and
 * security.capability). */
static int copy_meta(struct copy_ctx *c, const struct stat *st, struct xsrc *s, struct xsrc *d, int ddirfd,
                     const char *dname, bool *opaque) {
  int r = d->fd >= 0 ? fchown(d->fd, st->st_uid, st->st_gid)
                     : fchownat(ddirfd, dname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return cell_error(c->err, errno, "chown %s to %u:%u", c->rel, st->st_uid, st->st_gid);
  if (copy_xattrs(c, s, d, opaque) < 0) return -1;
  if (!S_ISLNK(st->st_mode)) {
    r = d->fd >= 0 ? fchmod(d->fd, st->st_mode & 07777) : fchmodat(ddirfd, dname, st->st_mode & 07777, 0);
    if (r < 0) return cell_error(c->err, errno, "chmod %s", c->rel);
  }
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  r = d->fd >= 0 ? futimens(d->fd, ts) : utimensat(ddirfd, dname, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return cell_error(c->err, errno, "set times of %s", c->rel);
  return 0;
}

static int copy_range(struct copy_ctx *c, int sfd, int dfd, off_t off, off_t end) {
  static char buf[1 << 16];
  bool use_cfr = true;
  while (off < end) {
    size_t len = (size_t)(end - off);
    if (use_cfr) {
      loff_t in = off, out = off;
      ssize_t n = copy_file_range(sfd, &in, dfd, &out, len > (1 << 30) ? (1 << 30) : len, 0);
      if (n > 0) {
        off += n;
        continue;
      }
      if (n == 0) return cell_error(c->err, EIO, "copy %s: file shrank while copying", c->rel);
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return cell_error(c->err, errno, "copy_file_range %s", c->rel);
      use_cfr = false;
    }
    ssize_t n = pread(sfd, buf, len > sizeof buf ? sizeof buf : len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cell_error(c->err, errno, "read %s", c->rel);
    if (n == 0) return cell_error(c->err, EIO, "copy %s: file shrank while copying", c->rel);
    for (ssize_t w = 0; w < n;) {
      ssize_t k = pwrite(dfd, buf + w, (size_t)(n - w), off + w);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return cell_error(c->err, errno, "write %s", c->rel);
      w += k;
    }
    off += n;
  }
  return 0;
}

/* Data: a reflink when the filesystem can, else only the data extents. */
static int copy_data(struct copy_ctx *c, int sfd, int dfd, const struct stat *st) {
  c->stats->bytes += (uint64_t)st->st_size;
  if (st->st_size == 0) return 0;
  if (!(c->flags & STORAGE_COPY_NO_REFLINK) && ioctl(dfd, FICLONE, sfd) == 0) return 0;
  off_t off = 0;
  while (off < st->st_size) {
    off_t data = lseek(sfd, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break; /* only a hole is left */
    if (data < 0 && errno == EINVAL) data = off; /* no SEEK_DATA here: all data */
    else if (data < 0) return cell_error(c->err, errno, "SEEK_DATA in %s", c->rel);
    off_t hole = lseek(sfd, data, SEEK_HOLE);
    if (hole < 0) hole = st->st_size;
    if (hole > st->st_size) hole = st->st_size;
    if (copy_range(c, sfd, dfd, data, hole) < 0) return -1;
    off = hole;
  }
  if (ftruncate(dfd, st->st_size) < 0) return cell_error(c->err, errno, "truncate %s", c->rel);
  return 0;
}

static int copy_dir(struct copy_ctx *c, int sfd, int dfd);

static int copy_reg(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st) {
  cleanup_close int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (sfd < 0) return cell_error(c->err, errno, "open %s", c->rel);
  cleanup_close int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0) return cell_error(c->err, errno, "create %s", c->rel);
  if (copy_data(c, sfd, dfd, st) < 0) return -1;
  struct xsrc xs = {.fd = sfd}, xd = {.fd = dfd};
  c->stats->files++;
  return copy_meta(c, st, &xs, &xd, ddir, name, NULL);
}

static int copy_special(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st) {
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(sdir, name, target, PATH_MAX);
    if (n < 0) return cell_error(c->err, errno, "readlink %s", c->rel);
    target[n] = 0;
    if (symlinkat(target, ddir, name) < 0) return cell_error(c->err, errno, "symlink %s", c->rel);
    c->stats->links++;
  } else if (mknodat(ddir, name, st->st_mode & (S_IFMT | 0600), st->st_rdev) < 0) {
    return cell_error(c->err, errno, "mknod %s", c->rel);
  } else {
    c->stats->files++;
  }
  struct xsrc xs = {.fd = -1}, xd = {.fd = -1};
  snprintf(xs.path, sizeof xs.path, "/proc/self/fd/%d/%s", sdir, name);
  snprintf(xd.path, sizeof xd.path, "/proc/self/fd/%d/%s", ddir, name);
  return copy_meta(c, st, &xs, &xd, ddir, name, NULL);
}

/* An overlay whiteout NAME as the OCI layer's empty file .wh.NAME. */
static int oci_whiteout(struct copy_ctx *c, int ddir, const char *name) {
  char wh[NAME_MAX + 8];
  if (snprintf(wh, sizeof wh, ".wh.%s", name) >= (int)sizeof wh)
    return cell_error(c->err, ENAMETOOLONG, "whiteout for %s", c->rel);
  int fd = openat(ddir, wh, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return cell_error(c->err, errno, "create whiteout %s", wh);
  close(fd);
  c->stats->files++;
  return 0;
}

static int copy_subdir(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st) {
  if (st->st_dev != c->src_dev) return cell_error(c->err, EXDEV, "%s is a mount point below the source", c->rel);
  if (mkdirat(ddir, name, 0700) < 0) return cell_error(c->err, errno, "mkdir %s", c->rel);
  cleanup_close int sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return cell_error(c->err, errno, "open dir %s", c->rel);
  cleanup_close int dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return cell_error(c->err, errno, "open dir %s", c->rel);
  return copy_dir(c, sfd, dfd);
}

static int copy_entry(struct copy_ctx *c, int sfd, int dfd, const char *name) {
  struct stat st;
  if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return cell_error(c->err, errno, "stat %s", c->rel);
  if (S_ISDIR(st.st_mode)) return copy_subdir(c, sfd, dfd, name, &st);
  if (c->flags & STORAGE_COPY_OCI_WHITEOUTS && is_whiteout(&st)) return oci_whiteout(c, dfd, name);
  if (st.st_nlink > 1) {
    const char *first = hl_find(c, &st);
    if (first) {
      if (linkat(c->dst_rootfd, first, dfd, name, 0) < 0)
        return cell_error(c->err, errno, "hardlink %s to %s", c->rel, first);
      c->stats->hardlinks++;
      return 0;
    }
  }
  int r = S_ISREG(st.st_mode) ? copy_reg(c, sfd, dfd, name, &st) : copy_special(c, sfd, dfd, name, &st);
  if (r == 0 && st.st_nlink > 1) r = hl_add(c, &st);
  return r;
}

/* The children of sfd into dfd (c->rel is sfd's path), then sfd's own
 * metadata onto dfd. */
static int copy_dir(struct copy_ctx *c, int sfd, int dfd) {
  int dup_fd = dup(sfd);
  if (dup_fd < 0) return cell_error(c->err, errno, "dup dir fd of %s", c->rel);
  cleanup_closedir DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return cell_error(c->err, errno, "read dir %s", c->rel);
  }
  rewinddir(d); /* the dup shares the offset */
  size_t base = strlen(c->rel);
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (base + 1 + strlen(de->d_name) >= sizeof c->rel)
      return cell_error(c->err, ENAMETOOLONG, "path %s/%s", c->rel, de->d_name);
    snprintf(c->rel + base, sizeof c->rel - base, "%s%s", base ? "/" : "", de->d_name);
    int r = copy_entry(c, sfd, dfd, de->d_name);
    c->rel[base] = 0;
    if (r < 0) return -1;
    errno = 0;
  }
  if (errno) return cell_error(c->err, errno, "read dir %s", c->rel);
  struct stat st;
  if (fstat(sfd, &st) < 0) return cell_error(c->err, errno, "stat %s", c->rel);
  struct xsrc xs = {.fd = sfd}, xd = {.fd = dfd};
  bool opaque = false;
  if (copy_meta(c, &st, &xs, &xd, -1, NULL, &opaque) < 0) return -1;
  if (opaque) {
    int fd = openat(dfd, ".wh..wh..opq", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return cell_error(c->err, errno, "create opaque marker in %s", c->rel);
    close(fd);
  }
  c->stats->dirs++;
  return 0;
}

static int copy_root(int srcfd, int dstfd, int flags, struct storage_copy_stats *stats, struct cell_err *err) {
  struct storage_copy_stats local = {0};
  struct stat st;
  if (fstat(srcfd, &st) < 0) return cell_error(err, errno, "stat copy source");
  struct copy_ctx *c = calloc(1, sizeof *c);
  if (!c) return cell_error(err, ENOMEM, "copy");
  c->flags = flags;
  c->dst_rootfd = dstfd;
  c->src_dev = st.st_dev;
  c->stats = stats ? stats : &local;
  c->err = err;
  int r = copy_dir(c, srcfd, dstfd);
  hl_free(c);
  free(c);
  return r;
}

int storage_copy_treeat(int srcfd, int dstdirfd, const char *dstname, int flags, struct storage_copy_stats *stats,
                        struct cell_err *err) {
  if (mkdirat(dstdirfd, dstname, 0700) < 0) return cell_error(err, errno, "mkdir copy destination %s", dstname);
  int dfd = openat(dstdirfd, dstname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int r = dfd < 0 ? cell_error(err, errno, "open copy destination %s", dstname) : 0;
  if (r == 0) r = copy_root(srcfd, dfd, flags, stats, err);
  if (dfd >= 0) close(dfd);
  if (r < 0) cell_rm_rf_at(dstdirfd, dstname);
  return r;
}

static int split_parent(const char *path, char *parent, size_t plen, const char **name) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(parent, plen, ".");
    *name = path;
  } else {
    snprintf(parent, plen, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    *name = slash + 1;
  }
  return **name ? 0 : -1;
}

int storage_copy_tree(const char *src, const char *dst, int flags, struct storage_copy_stats *stats,
                      struct cell_err *err) {
  cleanup_close int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) return cell_error(err, errno, "open copy source %s", src);
  char parent[PATH_MAX];
  const char *name;
  if (split_parent(dst, parent, sizeof parent, &name) < 0) return cell_error(err, EINVAL, "copy destination %s", dst);
  cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) return cell_error(err, errno, "open %s", parent);
  if (storage_copy_treeat(sfd, pfd, name, flags, stats, err) < 0) return cell_error_wrap(err, "copy %s to %s", src, dst);
  return 0;
}

int storage_replace_contents(const char *src, const char *dst, int flags, struct cell_err *err) {
  cleanup_close int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) return cell_error(err, errno, "open %s", src);
  cleanup_close int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return cell_error(err, errno, "open %s", dst);
  int dup_fd = dup(dfd);
  if (dup_fd < 0) return cell_error(err, errno, "dup fd of %s", dst);
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return cell_error(err, errno, "read dir %s", dst);
  }
  rewinddir(d); /* the dup shares the offset */
  struct dirent *de;
  int r = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (cell_rm_rf_at(dfd, de->d_name) < 0) {
      r = cell_error(err, errno, "remove %s/%s", dst, de->d_name);
      break;
    }
  }
  closedir(d);
  if (r == 0 && copy_root(sfd, dfd, flags, NULL, err) < 0) r = cell_error_wrap(err, "restore %s from %s", dst, src);
  return r;
}
