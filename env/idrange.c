/* idrange.c - per-environment user-namespace id ranges (see idrange.h). */
#include "env/idrange.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/mount.h>

#define IDR_FILE "idranges"
#define IDR_LOCK "idranges.lock"
#define IDR_TMP "idranges.tmp"

static const char *subuid_file = "/etc/subuid", *subgid_file = "/etc/subgid";

void env_idrange_set_subid_files(const char *subuid, const char *subgid) {
  subuid_file = subuid ? subuid : "/etc/subuid";
  subgid_file = subgid ? subgid : "/etc/subgid";
}

struct table {
  struct env_idrange *v;
  size_t n, cap;
};

static bool name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof((struct env_idrange *)0)->name) return false;
  for (const char *p = s; *p; p++)
    if (*p <= ' ' || *p == '/' || *p == 0x7f) return false;
  return strcmp(s, ".") && strcmp(s, "..");
}

static int table_add(struct table *t, const char *name, unsigned base, struct cell_err *err) {
  if (t->n == t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 16;
    struct env_idrange *nv = realloc(t->v, nc * sizeof *nv);
    if (!nv) return cell_error(err, ENOMEM, "id ranges: table of %zu", nc);
    t->v = nv;
    t->cap = nc;
  }
  snprintf(t->v[t->n].name, sizeof t->v[t->n].name, "%s", name);
  t->v[t->n++].base = base;
  return 0;
}

static int cmp_base(const void *a, const void *b) {
  unsigned x = ((const struct env_idrange *)a)->base, y = ((const struct env_idrange *)b)->base;
  return x < y ? -1 : x > y;
}

/* Reads ROOT/idranges into t (missing: empty); any malformed, out-of-bounds,
 * duplicate or overlapping entry is an error naming the file and line. */
static int table_load(int dirfd, const char *root, struct table *t, struct cell_err *err) {
  int fd = openat(dirfd, IDR_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "open %s/" IDR_FILE, root);
  }
  FILE *f = fdopen(fd, "re");
  if (!f) {
    close(fd);
    return cell_error(err, errno, "fdopen %s/" IDR_FILE, root);
  }
  char line[512];
  int rc = 0;
  for (unsigned ln = 1; rc == 0 && fgets(line, sizeof line, f); ln++) {
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n') {
      rc = cell_error(err, EINVAL, "%s/" IDR_FILE ":%u: corrupt: a line without its end (truncated or too long)", root, ln);
      break;
    }
    line[len - 1] = 0;
    char name[512];
    unsigned long long base;
    char extra;
    if (sscanf(line, "%llu %511s %c", &base, name, &extra) != 2 || !name_ok(name)) {
      rc = cell_error(err, EINVAL, "%s/" IDR_FILE ":%u: corrupt: \"%s\" is not \"BASE NAME\"", root, ln, line);
      break;
    }
    if (base < ENV_IDRANGE_FIRST || base + ENV_IDRANGE_SIZE > (unsigned long long)ENV_IDRANGE_LIMIT) {
      rc = cell_error(err, ERANGE, "%s/" IDR_FILE ":%u: corrupt: base %llu is outside %u..%u", root, ln, base,
                      ENV_IDRANGE_FIRST, ENV_IDRANGE_LIMIT - ENV_IDRANGE_SIZE);
      break;
    }
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
      if (!strcmp(t->v[i].name, name))
        rc = cell_error(err, EEXIST, "%s/" IDR_FILE ":%u: corrupt: %s has a second range", root, ln, name);
      else if (base < (unsigned long long)t->v[i].base + ENV_IDRANGE_SIZE && t->v[i].base < base + ENV_IDRANGE_SIZE)
        rc = cell_error(err, EEXIST, "%s/" IDR_FILE ":%u: corrupt: %s's range %llu overlaps %s's %u", root, ln, name,
                        base, t->v[i].name, t->v[i].base);
    }
    if (rc == 0) rc = table_add(t, name, (unsigned)base, err);
  }
  if (rc == 0 && ferror(f)) rc = cell_error(err, EIO, "read %s/" IDR_FILE, root);
  fclose(f);
  if (rc == 0) qsort(t->v, t->n, sizeof *t->v, cmp_base);
  return rc;
}

/* Writes t as ROOT/idranges: a temp file, fsync, rename. */
static int table_save(int dirfd, const char *root, const struct table *t, struct cell_err *err) {
  int fd = openat(dirfd, IDR_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return cell_error(err, errno, "create %s/" IDR_TMP, root);
  FILE *f = fdopen(fd, "we");
  if (!f) {
    close(fd);
    return cell_error(err, errno, "fdopen %s/" IDR_TMP, root);
  }
  for (size_t i = 0; i < t->n; i++) fprintf(f, "%u %s\n", t->v[i].base, t->v[i].name);
  int rc = 0;
  if (fflush(f) != 0 || fsync(fileno(f)) < 0) rc = cell_error(err, errno, "write %s/" IDR_TMP, root);
  if (fclose(f) != 0 && rc == 0) rc = cell_error(err, errno, "close %s/" IDR_TMP, root);
  if (rc == 0 && renameat(dirfd, IDR_TMP, dirfd, IDR_FILE) < 0)
    rc = cell_error(err, errno, "rename %s/" IDR_TMP " to " IDR_FILE, root);
  if (rc < 0) unlinkat(dirfd, IDR_TMP, 0);
  return rc;
}

/* Opens ROOT (made if missing) and takes the lock; returns the dir fd, *lockfd set. */
static int lock_root(const char *root, int *lockfd, struct cell_err *err) {
  if (!root || !*root) return cell_error(err, EINVAL, "id ranges: no root directory");
  if (mkdir(root, 0700) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir %s", root);
  int d = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (d < 0) return cell_error(err, errno, "open %s", root);
  int l = openat(d, IDR_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (l < 0) {
    int e = errno;
    close(d);
    return cell_error(err, e, "open %s/" IDR_LOCK, root);
  }
  int r;
  do r = flock(l, LOCK_EX);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(l);
    close(d);
    return cell_error(err, e, "lock %s/" IDR_LOCK, root);
  }
  *lockfd = l;
  return d;
}

static void unlock_root(int dirfd, int lockfd) {
  close(lockfd); /* drops the flock */
  close(dirfd);
}

struct spans {
  unsigned long long (*v)[2]; /* [start, end) */
  size_t n, cap;
};

static int span_add(struct spans *s, unsigned long long b, unsigned long long e, struct cell_err *err) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 32;
    void *nv = realloc(s->v, nc * sizeof *s->v);
    if (!nv) return cell_error(err, ENOMEM, "id ranges: %zu spans", nc);
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n][0] = b;
  s->v[s->n++][1] = e;
  return 0;
}

/* Adds the ranges of a subuid/subgid file ("owner:start:count"). */
static int add_subids(const char *file, struct spans *s, struct cell_err *err) {
  FILE *f = fopen(file, "re");
  if (!f) return 0; /* no such file: nothing reserved */
  char line[512];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    unsigned long long start = strtoull(c1 + 1, NULL, 10), count = strtoull(c2 + 1, NULL, 10);
    if (count) rc = span_add(s, start, start + count, err);
  }
  fclose(f);
  return rc;
}

static int find_free(const char *root, const struct table *t, unsigned *base, struct cell_err *err) {
  struct spans used = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < t->n; i++)
    rc = span_add(&used, t->v[i].base, (unsigned long long)t->v[i].base + ENV_IDRANGE_SIZE, err);
  if (rc == 0) rc = add_subids(subuid_file, &used, err);
  if (rc == 0) rc = add_subids(subgid_file, &used, err);
  unsigned long long cand = ENV_IDRANGE_FIRST;
  bool moved = true;
  while (rc == 0 && moved) {
    moved = false;
    for (size_t i = 0; i < used.n; i++)
      if (cand < used.v[i][1] && used.v[i][0] < cand + ENV_IDRANGE_SIZE) {
        /* the next slot at or after the end of what overlapped */
        unsigned long long off = used.v[i][1] - ENV_IDRANGE_FIRST;
        cand = ENV_IDRANGE_FIRST + (off + ENV_IDRANGE_SIZE - 1) / ENV_IDRANGE_SIZE * ENV_IDRANGE_SIZE;
        moved = true;
      }
    if (cand + ENV_IDRANGE_SIZE > ENV_IDRANGE_LIMIT) rc = cell_error(err, ENOSPC, "%s/" IDR_FILE ": no free id range left", root);
  }
  free(used.v);
  if (rc == 0) *base = (unsigned)cand;
  return rc;
}

int env_idrange_alloc(const char *root, const char *name, unsigned *base, struct cell_err *err) {
  if (!name || !name_ok(name)) return cell_error(err, EINVAL, "id range: \"%s\" is not a valid name", name ? name : "");
  int lockfd, d = lock_root(root, &lockfd, err);
  if (d < 0) return -1;
  struct table t = {0};
  int rc = table_load(d, root, &t, err);
  bool found = false;
  for (size_t i = 0; rc == 0 && i < t.n; i++)
    if (!strcmp(t.v[i].name, name)) {
      *base = t.v[i].base;
      found = true;
    }
  if (rc == 0 && !found) {
    unsigned b;
    rc = find_free(root, &t, &b, err);
    if (rc == 0) rc = table_add(&t, name, b, err);
    if (rc == 0) {
      qsort(t.v, t.n, sizeof *t.v, cmp_base);
      rc = table_save(d, root, &t, err);
    }
    if (rc == 0) *base = b;
  }
  free(t.v);
  unlock_root(d, lockfd);
  return rc;
}

/* Rewrites the table without the entries `drop` selects. */
static int rewrite_without(const char *root, bool (*drop)(const struct env_idrange *e, int dirfd, void *data),
                           void *data, size_t *removed, struct cell_err *err) {
  int lockfd, d = lock_root(root, &lockfd, err);
  if (d < 0) return -1;
  struct table t = {0};
  int rc = table_load(d, root, &t, err);
  size_t kept = 0;
  for (size_t i = 0; rc == 0 && i < t.n; i++)
    if (!drop(&t.v[i], d, data)) t.v[kept++] = t.v[i];
  size_t gone = rc == 0 ? t.n - kept : 0;
  t.n = kept;
  if (rc == 0 && gone) rc = table_save(d, root, &t, err);
  if (removed) *removed = rc == 0 ? gone : 0;
  free(t.v);
  unlock_root(d, lockfd);
  return rc;
}

static bool drop_named(const struct env_idrange *e, int dirfd, void *data) {
  (void)dirfd;
  return !strcmp(e->name, (const char *)data);
}

int env_idrange_free(const char *root, const char *name, struct cell_err *err) {
  if (!name || !name_ok(name)) return cell_error(err, EINVAL, "id range: \"%s\" is not a valid name", name ? name : "");
  return rewrite_without(root, drop_named, (void *)name, NULL, err);
}

struct prune_ctx {
  int (*keep)(const char *name, void *data);
  void *data;
};

static bool drop_stale(const struct env_idrange *e, int dirfd, void *data) {
  const struct prune_ctx *c = data;
  if (c->keep) return c->keep(e->name, c->data) == 0;
  char p[300];
  snprintf(p, sizeof p, "vps/%s", e->name);
  struct stat sb;
  return fstatat(dirfd, p, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

int env_idrange_prune(const char *root, int (*keep)(const char *name, void *data), void *data, size_t *removed,
                      struct cell_err *err) {
  struct prune_ctx c = {keep, data};
  return rewrite_without(root, drop_stale, &c, removed, err);
}

int env_idrange_list(const char *root, struct env_idrange **out, size_t *n, struct cell_err *err) {
  *out = NULL;
  *n = 0;
  int lockfd, d = lock_root(root, &lockfd, err);
  if (d < 0) return -1;
  struct table t = {0};
  int rc = table_load(d, root, &t, err);
  unlock_root(d, lockfd);
  if (rc < 0) {
    free(t.v);
    return -1;
  }
  *out = t.v;
  *n = t.n;
  return 0;
}

int env_idrange_get(const char *root, const char *name, unsigned *base, struct cell_err *err) {
  struct env_idrange *v;
  size_t n;
  if (env_idrange_list(root, &v, &n, err) < 0) return -1;
  int rc = 1;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) {
      *base = v[i].base;
      rc = 0;
    }
  free(v);
  return rc;
}

/* ---------- idmapped mounts ---------- */

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

/* A user namespace whose ids 0..count-1 are host base..: its fd, or -1. */
static int userns_for(unsigned base, unsigned count, struct cell_err *err) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return cell_error(err, errno, "idmap: pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return cell_error(err, errno, "idmap: fork");
  }
  if (pid == 0) {
    char c;
    close(pfd[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    /* tell the parent by closing nothing: it polls /proc/PID/ns/user */
    ssize_t r = read(pfd[0], &c, 1);
    _exit(r < 0);
  }
  close(pfd[0]);
  int rc = 0, nsfd = -1;
  char p[64], self[64], map[64];
  /* wait until the child's user namespace differs from ours */
  struct stat a, b;
  snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
  stat("/proc/self/ns/user", &a);
  for (int i = 0; i < 5000; i++) {
    if (stat(p, &b) < 0) {
      rc = cell_error(err, errno, "idmap: the helper's user namespace (%s)", p);
      break;
    }
    if (b.st_ino != a.st_ino) break;
    usleep(200);
  }
  snprintf(map, sizeof map, "0 %u %u\n", base, count);
  static const char *const files[] = {"uid_map", "gid_map"};
  for (int k = 0; rc == 0 && k < 2; k++) {
    snprintf(self, sizeof self, "/proc/%d/%s", (int)pid, files[k]);
    int fd = open(self, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) rc = cell_error(err, errno, "idmap: write \"0 %u %u\" to %s", base, count, self);
    if (fd >= 0) close(fd);
  }
  if (rc == 0 && (nsfd = open(p, O_RDONLY | O_CLOEXEC)) < 0) rc = cell_error(err, errno, "idmap: open %s", p);
  close(pfd[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return rc < 0 ? -1 : nsfd;
}

int env_idrange_idmap_mount(const char *src, const char *dst, unsigned base, unsigned count, struct cell_err *err) {
  if (!src || src[0] != '/' || !dst || dst[0] != '/') return cell_error(err, EINVAL, "idmap: paths must be absolute");
  if (base == 0 || count == 0) return cell_error(err, EINVAL, "idmap: range %u+%u maps root to root", base, count);
  int ns = userns_for(base, count, err);
  if (ns < 0) return -1;
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) {
    int e = errno;
    close(ns);
    return cell_error(err, e, "idmap: open_tree %s", src);
  }
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)ns};
  int rc = 0;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    rc = cell_error(err, errno, "idmap: mount_setattr MOUNT_ATTR_IDMAP on %s (does its filesystem support idmapped mounts?)", src);
  else if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    rc = cell_error(err, errno, "idmap: attach the idmapped copy of %s at %s", src, dst);
  close(tree);
  close(ns);
  return rc;
}
