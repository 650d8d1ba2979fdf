/* treesum.h - a reference walk of a tree for the storage tests: one line per
 * entry (sorted by path) with type, mode, owner, rdev, size, mtime, data
 * extents (SEEK_DATA/SEEK_HOLE), a content hash, sorted xattrs and the
 * hardlink group (the first path, in sorted order, of the same inode).
 * Written independently of storage/copy.c (nftw, path-based calls), so a
 * copy compared with its source through it checks the copier. */
#ifndef TREESUM_H
#define TREESUM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct ts_ent {
  char *path;
  char *line;
  dev_t dev;
  ino_t ino;
  int dir;
};
static struct ts_ent *ts_v;
static size_t ts_n, ts_cap;
static size_t ts_rootlen;

static void ts_app(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void ts_app(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < *cap - *len) {
      *len += (size_t)n;
      return;
    }
    *cap = *cap * 2 + (size_t)n + 64;
    *buf = realloc(*buf, *cap);
  }
}

static int ts_cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void ts_xattrs(const char *p, char **buf, size_t *len, size_t *cap) {
  ssize_t n = llistxattr(p, NULL, 0);
  if (n <= 0) return;
  char *names = malloc((size_t)n);
  n = llistxattr(p, names, (size_t)n);
  char *keys[256];
  int k = 0;
  for (char *q = names; q < names + n && k < 256; q += strlen(q) + 1) keys[k++] = q;
  qsort(keys, (size_t)k, sizeof keys[0], ts_cmp_name);
  for (int i = 0; i < k; i++) {
    unsigned char v[4096];
    ssize_t vn = lgetxattr(p, keys[i], v, sizeof v);
    ts_app(buf, len, cap, " x:%s=", keys[i]);
    for (ssize_t j = 0; j < vn; j++) ts_app(buf, len, cap, "%02x", v[j]);
  }
  free(names);
}

static void ts_data(const char *p, const struct stat *st, char **buf, size_t *len, size_t *cap) {
  int fd = open(p, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) {
    ts_app(buf, len, cap, " open-failed");
    return;
  }
  uint64_t h = 1469598103934665603ULL;
  off_t off = 0;
  while (off < st->st_size) {
    off_t d = lseek(fd, off, SEEK_DATA);
    if (d < 0) break;
    off_t e = lseek(fd, d, SEEK_HOLE);
    ts_app(buf, len, cap, " d:%jd-%jd", (intmax_t)d, (intmax_t)e);
    off = e;
  }
  lseek(fd, 0, SEEK_SET);
  unsigned char b[65536];
  ssize_t r;
  while ((r = read(fd, b, sizeof b)) > 0)
    for (ssize_t i = 0; i < r; i++) h = (h ^ b[i]) * 1099511628211ULL;
  ts_app(buf, len, cap, " h:%016" PRIx64, h);
  close(fd);
}

static int ts_visit(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)flag;
  (void)ftw;
  if (ts_n == ts_cap) {
    ts_cap = ts_cap ? ts_cap * 2 : 256;
    ts_v = realloc(ts_v, ts_cap * sizeof *ts_v);
  }
  size_t len = 0, cap = 256;
  char *line = malloc(cap);
  line[0] = 0;
  const char *rel = p + ts_rootlen;
  if (*rel == '/') rel++;
  ts_app(&line, &len, &cap, "%s t:%o m:%04o u:%u g:%u", *rel ? rel : ".", (unsigned)(st->st_mode & S_IFMT) >> 12,
         (unsigned)(st->st_mode & 07777), st->st_uid, st->st_gid);
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
    ts_app(&line, &len, &cap, " r:%u:%u", major(st->st_rdev), minor(st->st_rdev));
  if (!S_ISDIR(st->st_mode)) ts_app(&line, &len, &cap, " s:%jd", (intmax_t)st->st_size);
  ts_app(&line, &len, &cap, " mt:%jd.%09ld", (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (S_ISLNK(st->st_mode)) {
    char t[4096];
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    ts_app(&line, &len, &cap, " l:%s", t);
  }
  if (S_ISREG(st->st_mode)) ts_data(p, st, &line, &len, &cap);
  ts_xattrs(p, &line, &len, &cap);
  ts_v[ts_n].path = strdup(*rel ? rel : ".");
  ts_v[ts_n].line = line;
  ts_v[ts_n].dev = st->st_dev;
  ts_v[ts_n].ino = st->st_ino;
  ts_v[ts_n].dir = S_ISDIR(st->st_mode);
  ts_n++;
  return 0;
}

static int ts_cmp_path(const void *a, const void *b) {
  return strcmp(((const struct ts_ent *)a)->path, ((const struct ts_ent *)b)->path);
}

/* The manifest of ROOT (malloc'd), or NULL. */
static char *treesum(const char *root) {
  ts_n = 0;
  ts_rootlen = strlen(root);
  if (nftw(root, ts_visit, 64, FTW_PHYS) < 0) return NULL;
  qsort(ts_v, ts_n, sizeof *ts_v, ts_cmp_path);
  size_t len = 0, cap = 4096;
  char *out = malloc(cap);
  out[0] = 0;
  for (size_t i = 0; i < ts_n; i++) {
    ts_app(&out, &len, &cap, "%s", ts_v[i].line);
    if (!ts_v[i].dir) /* hardlink group: the first path with this inode */
      for (size_t j = 0; j <= i; j++)
        if (ts_v[j].dev == ts_v[i].dev && ts_v[j].ino == ts_v[i].ino) {
          if (j != i) ts_app(&out, &len, &cap, " hl:%s", ts_v[j].path);
          break;
        }
    ts_app(&out, &len, &cap, "\n");
  }
  for (size_t i = 0; i < ts_n; i++) {
    free(ts_v[i].path);
    free(ts_v[i].line);
  }
  free(ts_v);
  ts_v = NULL;
  ts_n = ts_cap = 0;
  return out;
}
#endif
