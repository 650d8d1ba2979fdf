/* extract.c - safe tar extraction: libarchive reads, our fd-relative code writes.
 *
 * Every entry's parent is opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS) (a component walk with
 * O_NOFOLLOW where openat2 is missing): an entry through a symlink is refused, never followed; ".." and
 * absolute names are refused outright.  Files are created O_EXCL|O_NOFOLLOW and their owner, mode, xattrs
 * and times are applied through the fd; a name that exists is replaced (a later duplicate wins, as tar
 * does). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "images/extract_int.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/path.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define RES_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* inodes created by this stream (an opaque dir in IMG_WH_APPLY keeps them) */
struct inoset {
  uint64_t *v;
  size_t cap, n;
};

struct xctx {
  int root;
  struct img_extract_opts o;
  struct cell_err *err;
  const char *entry; /* the entry's name as the archive spells it */
  struct inoset made;
  bool is_root;
};

const char *img_filter_name(int code) {
  switch (code) {
  case ARCHIVE_FILTER_NONE: return "none";
  case ARCHIVE_FILTER_GZIP: return "gzip";
  case ARCHIVE_FILTER_ZSTD: return "zstd";
  default: return NULL;
  }
}

unsigned img_filter_bit(int code) {
  switch (code) {
  case ARCHIVE_FILTER_NONE: return IMG_COMP_NONE;
  case ARCHIVE_FILTER_GZIP: return IMG_COMP_GZIP;
  case ARCHIVE_FILTER_ZSTD: return IMG_COMP_ZSTD;
  default: return 0;
  }
}

static int inoset_add(struct inoset *s, uint64_t ino) {
  if (s->n * 2 >= s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    uint64_t *nv = calloc(nc, sizeof *nv);
    if (!nv) return -1;
    for (size_t i = 0; i < s->cap; i++)
      if (s->v[i])
        for (size_t h = s->v[i] % nc;; h = (h + 1) % nc)
          if (!nv[h]) {
            nv[h] = s->v[i];
            break;
          }
    free(s->v);
    s->v = nv;
    s->cap = nc;
  }
  for (size_t h = ino % s->cap;; h = (h + 1) % s->cap) {
    if (s->v[h] == ino) return 0;
    if (!s->v[h]) {
      s->v[h] = ino;
      s->n++;
      return 0;
    }
  }
}

static bool inoset_has(const struct inoset *s, uint64_t ino) {
  if (!s->cap) return false;
  for (size_t h = ino % s->cap; s->v[h]; h = (h + 1) % s->cap)
    if (s->v[h] == ino) return true;
  return false;
}

/* The error for the current entry: "entry 'NAME': ..." (a long name is cut). */
static int xerr(struct xctx *x, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int xerr(struct xctx *x, int errnum, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *n = x->entry ? x->entry : "?";
  size_t len = strlen(n);
  return cell_error(x->err, errnum, "entry '%.200s%s': %s", n, len > 200 ? "..." : "", msg);
}

/* Clean an archive name into out: "./" and "//" dropped, a trailing "/" dropped; "" is the root.
 * Absolute names and ".." components are refused. */
static int clean_name(struct xctx *x, const char *in, char *out, size_t size) {
  size_t len = strlen(in);
  if (len > x->o.max_path) return xerr(x, 0, "path is %zu bytes, more than the %zu allowed", len, x->o.max_path);
  if (in[0] == '/') return xerr(x, 0, "absolute path refused");
  size_t o = 0;
  const char *p = in;
  while (*p) {
    const char *e = strchrnul(p, '/');
    size_t n = (size_t)(e - p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return xerr(x, 0, "'..' in the path refused");
    if (n > NAME_MAX) return xerr(x, 0, "a component is %zu bytes, more than %d", n, NAME_MAX);
    if (n && !(n == 1 && p[0] == '.')) {
      if (o + n + 2 > size) return xerr(x, 0, "path too long");
      if (o) out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p = *e ? e + 1 : e;
  }
  out[o] = 0;
  return 0;
}

/* In IMG_WH_OVERLAY: may the new directory prefix be made here, or does a lower layer show a symlink
 * (or a non-directory) there? */
static int check_lowers(struct xctx *x, const char *prefix) {
  for (size_t i = 0; i < x->o.n_lower; i++) {
    int fd = cell_openat2(x->o.lower_dirfds[i], prefix, O_PATH | O_NOFOLLOW | O_CLOEXEC, RES_FLAGS);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      if (errno == ELOOP || errno == EXDEV)
        return xerr(x, 0, "'%s' goes through a symlink of a lower layer", prefix);
      if (errno == ENOTDIR) return 0; /* a lower non-directory parent: hidden by the new dir */
      return xerr(x, errno, "check '%s' in a lower layer", prefix);
    }
    struct stat sb;
    int r = fstat(fd, &sb);
    close(fd);
    if (r < 0) return xerr(x, errno, "stat '%s' in a lower layer", prefix);
    if (S_ISLNK(sb.st_mode)) return xerr(x, 0, "'%s' is a symlink in a lower layer: refusing to write through it", prefix);
    return 0; /* a dir, a file or a whiteout decides */
  }
  return 0;
}

/* Open (O_PATH) the directory dir inside the root; create missing components (mode 0755) when create.
 * A symlink or non-directory on the way is an error.  Returns the fd, -2 when missing and !create, -1 on
 * error. */
static int open_dir(struct xctx *x, const char *dir, bool create) {
  if (!*dir) {
    int fd = fcntl(x->root, F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? xerr(x, errno, "dup") : fd;
  }
  int fd = cell_openat2(x->root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, RES_FLAGS);
  if (fd >= 0) return fd;
  if (errno == ELOOP || errno == EXDEV) return xerr(x, 0, "'%s' goes through a symlink: refused", dir);
  if (errno == ENOTDIR) return xerr(x, 0, "a parent in '%s' is not a directory", dir);
  if (errno == ENOENT && !create) {
    /* fall through to the walk only to tell a missing dir from a symlink in it */
  } else if (errno != ENOENT && errno != ENOSYS && errno != EPERM) {
    return xerr(x, errno, "open '%s'", dir);
  }
  /* the walk: component by component, O_NOFOLLOW, creating what is missing */
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", dir);
  int cur = fcntl(x->root, F_DUPFD_CLOEXEC, 3);
  if (cur < 0) return xerr(x, errno, "dup");
  for (char *p = buf; *p;) {
    char *slash = strchr(p, '/');
    if (slash) *slash = 0;
    int nfd = openat(cur, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT) {
      if (!create) {
        close(cur);
        return -2;
      }
      if (x->o.whiteouts == IMG_WH_OVERLAY && check_lowers(x, buf) < 0) {
        close(cur);
        return -1;
      }
      if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        return xerr(x, e, "mkdir '%s'", buf);
      }
      nfd = openat(cur, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    int e = errno;
    close(cur);
    if (nfd < 0) return xerr(x, e, "open '%s'", buf);
    struct stat sb;
    if (fstat(nfd, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
      close(nfd);
      return xerr(x, 0, "'%s' is %s, not a directory", buf, S_ISLNK(sb.st_mode) ? "a symlink: refused" : "no directory");
    }
    cur = nfd;
    if (slash) {
      *slash = '/';
      p = slash + 1;
    } else {
      break;
    }
  }
  return cur;
}

/* Remove name in dirfd (a dir recursively) unless keep_dir and it is a directory.  1 when a directory
 * was kept, 0 when removed or missing. */
static int remove_existing(struct xctx *x, int dirfd, const char *name, bool keep_dir) {
  struct stat sb;
  if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return 0;
    return xerr(x, errno, "stat");
  }
  if (S_ISDIR(sb.st_mode)) {
    if (keep_dir) return 1;
    if (cell_rm_rf_at(dirfd, name) < 0) return xerr(x, errno, "remove the directory it replaces");
    return 0;
  }
  if (unlinkat(dirfd, name, 0) < 0) return xerr(x, errno, "remove the file it replaces");
  return 0;
}

/* trusted.overlay.X is escaped as trusted.overlay.overlay.X (overlayfs' escape for nested overlays). */
static int set_xattrs(struct xctx *x, struct archive_entry *e, int fd) {
  const char *name;
  const void *val;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
    char esc[XATTR_NAME_MAX + 32];
    if (!strncmp(name, "trusted.overlay.", 16)) {
      snprintf(esc, sizeof esc, "trusted.overlay.overlay.%s", name + 16);
      name = esc;
    }
    if (fsetxattr(fd, name, val, size, 0) < 0) {
      if (errno == ENOTSUP && strncmp(name, "security.capability", 19)) {
        cell_warn("entry '%s': xattr %s not supported here, dropped", x->entry, name);
        continue;
      }
      return xerr(x, errno, "set xattr %s", name);
    }
  }
  return 0;
}

/* Owner, mode, xattrs and times through fd (opened on the new object; O_PATH for fifos/devices, where
 * mode and times go through the parent, which only this extraction writes). */
static int apply_meta(struct xctx *x, struct archive_entry *e, int fd, int parent, const char *base, bool opath) {
  mode_t mode = archive_entry_perm(e) & 07777;
  if (x->o.keep_owner &&
      fchownat(fd, "", archive_entry_uid(e), archive_entry_gid(e), AT_EMPTY_PATH) < 0)
    return xerr(x, errno, "chown %ld:%ld", (long)archive_entry_uid(e), (long)archive_entry_gid(e));
  if (opath ? fchmodat(parent, base, mode, 0) < 0 : fchmod(fd, mode) < 0) return xerr(x, errno, "chmod %o", mode);
  if (!opath && set_xattrs(x, e, fd) < 0) return -1;
  struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (!archive_entry_atime_is_set(e)) ts[0] = ts[1];
  if (opath ? utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0 : futimens(fd, ts) < 0)
    return xerr(x, errno, "set times");
  return 0;
}

static int note_made(struct xctx *x, int fd) {
  struct stat sb;
  if (x->o.whiteouts != IMG_WH_APPLY) return 0;
  if (fstat(fd, &sb) < 0) return xerr(x, errno, "stat");
  if (inoset_add(&x->made, sb.st_ino) < 0) return xerr(x, ENOMEM, "track");
  return 0;
}

static int write_data(struct xctx *x, struct archive *a, int fd, int64_t size) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    const char *p = buf;
    while (len) {
      ssize_t w = pwrite(fd, p, len, off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return xerr(x, w < 0 ? errno : EIO, "write");
      p += w;
      len -= (size_t)w;
      off += w;
    }
  }
  if (r != ARCHIVE_EOF) return xerr(x, archive_errno(a) > 0 ? archive_errno(a) : 0, "read: %s", archive_error_string(a));
  if (ftruncate(fd, size) < 0) return xerr(x, errno, "truncate");
  return 0;
}

static int make_file(struct xctx *x, struct archive *a, struct archive_entry *e, int parent, const char *base) {
  if (remove_existing(x, parent, base, false) < 0) return -1;
  int64_t size = archive_entry_size(e);
  if (size < 0 || (uint64_t)size > x->o.max_bytes) return xerr(x, 0, "%lld bytes: too large", (long long)size);
  x->o.max_bytes -= (uint64_t)size;
  cleanup_close int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return xerr(x, errno, "create");
  if (write_data(x, a, fd, size) < 0 || note_made(x, fd) < 0) return -1;
  return apply_meta(x, e, fd, parent, base, false);
}

static int make_dir(struct xctx *x, struct archive_entry *e, int parent, const char *base) {
  int fd;
  if (!*base) {
    fd = fcntl(x->root, F_DUPFD_CLOEXEC, 3); /* the root entry itself */
  } else {
    int kept = remove_existing(x, parent, base, true);
    if (kept < 0) return -1;
    if (!kept && mkdirat(parent, base, 0700) < 0) return xerr(x, errno, "mkdir");
    fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return xerr(x, errno, "open the directory");
  int r = note_made(x, fd) < 0 ? -1 : apply_meta(x, e, fd, parent, base, false);
  close(fd);
  return r;
}

static int make_link(struct xctx *x, struct archive_entry *e, int parent, const char *base) {
  const char *target = archive_entry_symlink(e);
  if (!target || !*target) return xerr(x, 0, "symlink without a target");
  if (strlen(target) >= PATH_MAX) return xerr(x, 0, "symlink target too long");
  if (remove_existing(x, parent, base, false) < 0) return -1;
  if (symlinkat(target, parent, base) < 0) return xerr(x, errno, "symlink");
  if (x->o.keep_owner &&
      fchownat(parent, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return xerr(x, errno, "chown");
  struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0) return xerr(x, errno, "set times");
  if (x->o.whiteouts == IMG_WH_APPLY) {
    struct stat sb;
    if (fstatat(parent, base, &sb, AT_SYMLINK_NOFOLLOW) < 0 || inoset_add(&x->made, sb.st_ino) < 0)
      return xerr(x, errno, "stat");
  }
  return 0;
}

static int make_node(struct xctx *x, struct archive_entry *e, int parent, const char *base) {
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFSOCK) return 0; /* tar skips sockets too */
  if ((type == AE_IFCHR || type == AE_IFBLK) && !(x->o.allow_devices && x->is_root))
    return xerr(x, 0, "device node %u:%u refused (devices are created only by root, when allowed)",
                major(archive_entry_rdev(e)), minor(archive_entry_rdev(e)));
  if (remove_existing(x, parent, base, false) < 0) return -1;
  if (mknodat(parent, base, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
    return xerr(x, errno, "mknod");
  cleanup_close int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return xerr(x, errno, "open");
  if (note_made(x, fd) < 0) return -1;
  return apply_meta(x, e, fd, parent, base, true);
}

static int make_hardlink(struct xctx *x, struct archive_entry *e, int parent, const char *base) {
  char tname[PATH_MAX];
  const char *entry = x->entry;
  if (clean_name(x, archive_entry_hardlink(e), tname, sizeof tname) < 0) return -1;
  if (!*tname) return xerr(x, 0, "hardlink to the root refused");
  char *slash = strrchr(tname, '/');
  const char *tbase = slash ? slash + 1 : tname;
  if (slash) *slash = 0;
  int tdir = open_dir(x, slash ? tname : "", false);
  if (tdir == -2) return xerr(x, 0, "hardlink target '%s' is not in the archive (before this entry)", archive_entry_hardlink(e));
  if (tdir < 0) return -1;
  struct stat sb;
  int r = -1;
  if (fstatat(tdir, tbase, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    xerr(x, errno, "hardlink target '%s'", archive_entry_hardlink(e));
  else if (S_ISDIR(sb.st_mode))
    xerr(x, 0, "hardlink to a directory refused");
  else {
    struct stat cur;
    if (fstatat(parent, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == sb.st_ino && cur.st_dev == sb.st_dev)
      r = 0; /* already that file */
    else if (remove_existing(x, parent, base, false) == 0) {
      if (linkat(tdir, tbase, parent, base, 0) < 0) xerr(x, errno, "hardlink to '%s'", archive_entry_hardlink(e));
      else r = 0;
    }
  }
  close(tdir);
  x->entry = entry;
  return r;
}

/* ".wh.NAME" and ".wh..wh..opq" */
static int whiteout(struct xctx *x, const char *dir, const char *base) {
  const char *victim = base + strlen(WH_PREFIX);
  bool opaque = !strcmp(base, WH_OPAQUE);
  if (x->o.whiteouts == IMG_WH_REFUSE) return xerr(x, 0, "whiteout entry in a plain archive refused");
  if (!opaque && !strncmp(victim, WH_PREFIX, strlen(WH_PREFIX))) return 0; /* aufs metadata (.wh..wh.plnk): skipped */
  if (!opaque && (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")))
    return xerr(x, 0, "whiteout of '%s' refused", *victim ? victim : "/");
  int pfd = open_dir(x, dir, x->o.whiteouts == IMG_WH_OVERLAY);
  if (pfd == -2) return 0; /* nothing there to hide */
  if (pfd < 0) return -1;
  int r = 0;
  int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) r = xerr(x, errno, "open '%s'", dir);
  else if (x->o.whiteouts == IMG_WH_OVERLAY) {
    if (opaque) {
      if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0) r = xerr(x, errno, "mark '%s' opaque", dir);
    } else if (remove_existing(x, dfd, victim, false) < 0) {
      r = -1;
    } else if (mknodat(dfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0) {
      r = xerr(x, errno, "whiteout device for '%s'", victim);
    }
  } else if (!opaque) {
    r = remove_existing(x, dfd, victim, false) < 0 ? -1 : 0;
  } else {
    /* opaque: what earlier layers put in dir goes, what this stream made stays */
    int d2 = dup(dfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) r = xerr(x, errno, "read '%s'", dir);
    struct dirent *de;
    while (d && r == 0 && (de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || inoset_has(&x->made, de->d_ino)) continue;
      if (cell_rm_rf_at(dfd, de->d_name) < 0) r = xerr(x, errno, "remove '%s' under an opaque dir", de->d_name);
    }
    if (d) closedir(d);
  }
  if (dfd >= 0) close(dfd);
  close(pfd);
  return r;
}

static int one_entry(struct xctx *x, struct archive *a, struct archive_entry *e) {
  char name[PATH_MAX];
  if (clean_name(x, x->entry, name, sizeof name) < 0) return -1;
  char *slash = strrchr(name, '/');
  const char *base = slash ? slash + 1 : name;
  const char *dir = slash ? (*slash = 0, name) : "";
  if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) return whiteout(x, dir, base);
  mode_t type = archive_entry_filetype(e);
  if (!*base && type != AE_IFDIR) return xerr(x, 0, "the root must be a directory");
  int parent = open_dir(x, dir, true);
  if (parent < 0) return -1;
  int r;
  if (archive_entry_hardlink(e)) r = make_hardlink(x, e, parent, base);
  else if (type == AE_IFREG) r = make_file(x, a, e, parent, base);
  else if (type == AE_IFDIR) r = make_dir(x, e, parent, base);
  else if (type == AE_IFLNK) r = make_link(x, e, parent, base);
  else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK) r = make_node(x, e, parent, base);
  else r = xerr(x, 0, "unknown entry type 0%o", (unsigned)type);
  close(parent);
  return r;
}

int img_extract_archive(struct archive *a, struct archive *filter_src, int dest_dirfd,
                        const struct img_extract_opts *o, struct cell_err *err) {
  struct xctx x = {.root = dest_dirfd, .err = err, .is_root = geteuid() == 0};
  if (o) x.o = *o;
  else x.o.keep_owner = x.is_root, x.o.allow_devices = true;
  if (!x.o.max_bytes) x.o.max_bytes = IMG_DEFAULT_MAX_BYTES;
  if (!x.o.max_entries) x.o.max_entries = IMG_DEFAULT_MAX_ENTRIES;
  if (!x.o.max_path) x.o.max_path = IMG_DEFAULT_MAX_PATH;
  if (!x.o.compression) x.o.compression = IMG_COMP_NONE | IMG_COMP_GZIP | IMG_COMP_ZSTD;
  if (!x.is_root) x.o.keep_owner = false;
  struct archive_entry *e;
  char prev[256] = "";
  uint64_t n = 0;
  int r = 0;
  for (;;) {
    int h = archive_read_next_header(a, &e);
    if (h == ARCHIVE_EOF) {
      if (n == 0) {
        /* an empty stream: still check what it was */
        int code = archive_filter_code(filter_src, 0);
        if (!(img_filter_bit(code) & x.o.compression)) r = cell_error(err, 0, "compression %s not accepted here", img_filter_name(code) ? img_filter_name(code) : "unknown");
      }
      break;
    }
    if (n == 0) {
      int code = archive_filter_code(filter_src, 0);
      if (!(img_filter_bit(code) & x.o.compression)) {
        r = cell_error(err, 0, "the stream is %s-compressed, which is not what it was declared as",
                       img_filter_name(code) ? img_filter_name(code) : archive_filter_name(filter_src, 0));
        break;
      }
    }
    if (h < ARCHIVE_WARN) {
      r = cell_error(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "%s%s%s: %s", n ? "after entry '" : "at the start",
                     n ? prev : "", n ? "'" : "", archive_error_string(a));
      break;
    }
    if (++n > x.o.max_entries) {
      r = cell_error(err, 0, "more than %llu entries (at '%.200s')", (unsigned long long)x.o.max_entries,
                     archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
      break;
    }
    x.entry = archive_entry_pathname(e);
    if (!x.entry) x.entry = archive_entry_pathname_utf8(e);
    if (!x.entry) {
      r = cell_error(err, 0, "after entry '%s': an entry without a readable name", prev);
      break;
    }
    snprintf(prev, sizeof prev, "%s", x.entry);
    if (one_entry(&x, a, e) < 0) {
      r = -1;
      break;
    }
  }
  free(x.made.v);
  return r;
}

int img_extract_tar(int tar_fd, int dest_dirfd, const struct img_extract_opts *o, struct cell_err *err) {
  struct archive *a = archive_read_new();
  if (!a) return cell_error(err, ENOMEM, "libarchive");
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  int r;
  if (archive_read_open_fd(a, tar_fd, 1 << 17) != ARCHIVE_OK)
    r = cell_error(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "open the archive: %s", archive_error_string(a));
  else
    r = img_extract_archive(a, a, dest_dirfd, o, err);
  archive_read_free(a);
  return r;
}
