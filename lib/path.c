/* path.c - resolve a path inside a root: openat2 RESOLVE_IN_ROOT, or a walk. */
#include "lib/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define MAX_SYMLINKS 40

int cell_openat2(int dirfd, const char *path, int flags, unsigned long long resolve) {
  struct open_how how = {.flags = (unsigned long long)flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int cell_path_open_in_root(int rootfd, const char *path, int flags) {
  int fd = cell_openat2(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
  return cell_path_open_in_root_walk(rootfd, path, flags);
}

/* The directories walked so far: st[0] is the root (not owned), st[n-1] the
 * current one; ".." pops, never below st[0]. */
struct walk {
  int *st;
  size_t n, cap;
};

static void walk_pop_to(struct walk *w, size_t n) {
  while (w->n > n) close(w->st[--w->n]);
}

static int walk_push(struct walk *w, int fd) {
  if (w->n == w->cap) {
    size_t nc = w->cap ? w->cap * 2 : 16;
    int *ns = realloc(w->st, nc * sizeof *ns);
    if (!ns) {
      close(fd);
      return errno = ENOMEM, -1;
    }
    w->st = ns;
    w->cap = nc;
  }
  w->st[w->n++] = fd;
  return 0;
}

/* rest = target + "/" + rest (rest is the part of the path still to walk). */
static int splice_link(char *rest, size_t size, const char *target) {
  char tmp[PATH_MAX * 2];
  int n = snprintf(tmp, sizeof tmp, "%s/%s", target, rest);
  if (n < 0 || (size_t)n >= size) return errno = ENAMETOOLONG, -1;
  memcpy(rest, tmp, (size_t)n + 1);
  return 0;
}

/* One step: the component comp of the current directory; last says whether
 * it ends the path. Returns 1 when comp was a symlink (spliced into rest), 0
 * when walked (pushed, or *out set for the last), -1 with errno. */
static int walk_step(struct walk *w, const char *comp, bool last, int flags, char *rest,
                     size_t rsize, int *links, int *out) {
  int cur = w->st[w->n - 1];
  int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  if (fstat(fd, &sb) < 0) {
    int e = errno;
    close(fd);
    return errno = e, -1;
  }
  if (S_ISLNK(sb.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
    int e = errno;
    close(fd);
    if (n < 0) return errno = e, -1;
    if (++*links > MAX_SYMLINKS) return errno = ELOOP, -1;
    target[n] = '\0';
    if (target[0] == '/') walk_pop_to(w, 1); /* absolute: back to the root */
    if (splice_link(rest, rsize, target) < 0) return -1;
    return 1;
  }
  if (!last) {
    if (!S_ISDIR(sb.st_mode)) {
      close(fd);
      return errno = ENOTDIR, -1;
    }
    return walk_push(w, fd);
  }
  if ((flags & O_PATH) == O_PATH) {
    *out = fd;
    return 0;
  }
  close(fd);
  *out = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
  return *out < 0 ? -1 : 0;
}

int cell_path_open_in_root_walk(int rootfd, const char *path, int flags) {
  char rest[PATH_MAX * 2];
  if (snprintf(rest, sizeof rest, "%s", path) >= (int)sizeof rest) return errno = ENAMETOOLONG, -1;
  struct walk w = {malloc(16 * sizeof(int)), 1, 16};
  if (!w.st) return errno = ENOMEM, -1;
  w.st[0] = rootfd;
  int links = 0, out = -1, rc = 0;
  for (;;) {
    char *p = rest;
    while (*p == '/') p++;
    if (!*p) { /* the path ends at a directory: open the current one */
      out = openat(w.st[w.n - 1], ".", flags | O_CLOEXEC);
      rc = out < 0 ? -1 : 0;
      break;
    }
    size_t len = strcspn(p, "/");
    char comp[NAME_MAX + 1];
    if (len > NAME_MAX) {
      errno = ENAMETOOLONG;
      rc = -1;
      break;
    }
    memcpy(comp, p, len);
    comp[len] = '\0';
    char *after = p + len;
    while (*after == '/') after++;
    bool last = !*after;
    memmove(rest, after, strlen(after) + 1);
    if (!strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      if (w.n > 1) walk_pop_to(&w, w.n - 1);
      continue;
    }
    rc = walk_step(&w, comp, last, flags, rest, sizeof rest, &links, &out);
    if (rc < 0 || (rc == 0 && last)) break;
  }
  int e = errno;
  walk_pop_to(&w, 1);
  free(w.st);
  if (rc < 0) return errno = e, -1;
  return out;
}
