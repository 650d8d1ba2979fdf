/* store.c - the store's directories, its lock and the staging dirs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "images/store_int.h"
#include "lib/file.h"
#include "lib/log.h"

static int open_sub(int dirfd, const char *name, const char *what, struct cell_err *err) {
  if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) return cell_error(err, errno, "mkdir %s", what);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open %s", what);
  return fd;
}

/* Staging dirs whose owner is gone (its flock is free) are debris: remove them. */
static void clean_debris(struct img_store *s) {
  int fd = dup(s->tmpfd);
  if (fd < 0) return;
  cleanup_closedir DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    cleanup_close int sfd = openat(s->tmpfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd >= 0 && flock(sfd, LOCK_EX | LOCK_NB) < 0) continue; /* in use */
    if (cell_rm_rf_at(s->tmpfd, de->d_name) < 0)
      cell_warn("images: removing debris %s/tmp/%s: %s", s->dir, de->d_name, strerror(errno));
  }
}

int img_store_open(const char *root, struct img_store **out, struct cell_err *err) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/images", root) >= (int)sizeof path)
    return cell_error(err, ENAMETOOLONG, "image store %s/images", root);
  if (cell_mkdir_p(path, 0700) < 0) return cell_error(err, errno, "image store: mkdir %s", path);
  struct img_store *s = calloc(1, sizeof *s);
  if (!s) return cell_error(err, errno, "image store");
  s->dirfd = s->blobsfd = s->layersfd = s->tmpfd = s->usersfd = s->lockfd = -1;
  s->dir = strdup(path);
  if (!s->dir) goto oom;
  s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0) {
    cell_error(err, errno, "image store: open %s", path);
    goto fail;
  }
  s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (s->lockfd < 0) {
    cell_error(err, errno, "image store: open %s/lock", path);
    goto fail;
  }
  int b = open_sub(s->dirfd, "blobs", "blobs", err);
  if (b < 0) goto fail;
  s->blobsfd = open_sub(b, "sha256", "blobs/sha256", err);
  close(b);
  if (s->blobsfd < 0) goto fail;
  if ((s->layersfd = open_sub(s->dirfd, "layers", "layers", err)) < 0) goto fail;
  if ((s->tmpfd = open_sub(s->dirfd, "tmp", "tmp", err)) < 0) goto fail;
  if ((s->usersfd = open_sub(s->dirfd, "users", "users", err)) < 0) goto fail;
  struct stat sb;
  if (fstatat(s->dirfd, "oci-layout", &sb, AT_SYMLINK_NOFOLLOW) < 0) {
    static const char lay[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    if (cell_write_atomic_at(s->dirfd, "oci-layout", lay, sizeof lay - 1, 0644, err) < 0) goto fail;
  }
  if (fstatat(s->dirfd, "index.json", &sb, AT_SYMLINK_NOFOLLOW) < 0) {
    static const char idx[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                              "\"manifests\":[]}";
    if (img_store_lock(s, err) < 0) goto fail;
    int r = 0;
    if (fstatat(s->dirfd, "index.json", &sb, AT_SYMLINK_NOFOLLOW) < 0)
      r = cell_write_atomic_at(s->dirfd, "index.json", idx, sizeof idx - 1, 0644, err);
    img_store_unlock(s);
    if (r < 0) goto fail;
  }
  if (img_store_lock(s, err) < 0) goto fail;
  clean_debris(s);
  img_store_unlock(s);
  if (fstatat(s->dirfd, "dirty", &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    /* an import was killed while it committed: collect what no image references */
    if (img_store_lock(s, err) < 0) goto fail;
    int r = fstatat(s->dirfd, "dirty", &sb, AT_SYMLINK_NOFOLLOW) == 0 ? img_gc(s, err) : 0;
    if (r == 0) unlinkat(s->dirfd, "dirty", 0);
    img_store_unlock(s);
    if (r < 0) goto fail;
  }
  *out = s;
  return 0;
oom:
  cell_error(err, ENOMEM, "image store");
fail:
  img_store_close(s);
  return -1;
}

void img_store_close(struct img_store *s) {
  if (!s) return;
  int *fds[] = {&s->dirfd, &s->blobsfd, &s->layersfd, &s->tmpfd, &s->usersfd, &s->lockfd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (*fds[i] >= 0) close(*fds[i]);
  free(s->dir);
  free(s);
}

int img_store_lock(struct img_store *s, struct cell_err *err) {
  while (flock(s->lockfd, LOCK_EX) < 0)
    if (errno != EINTR) return cell_error(err, errno, "lock %s/lock", s->dir);
  return 0;
}

void img_store_unlock(struct img_store *s) { flock(s->lockfd, LOCK_UN); }

static int stage_new_locked(struct img_store *s, struct img_stage *st, struct cell_err *err);

/* Under the store lock, so that clean_debris never sees the dir before its flock is taken. */
int img_stage_new(struct img_store *s, struct img_stage *st, struct cell_err *err) {
  st->fd = -1;
  if (img_store_lock(s, err) < 0) return -1;
  int r = stage_new_locked(s, st, err);
  img_store_unlock(s);
  return r;
}

static int stage_new_locked(struct img_store *s, struct img_stage *st, struct cell_err *err) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  for (int i = 0; i < 100; i++) {
    snprintf(st->name, sizeof st->name, "%d-%lx-%d", (int)getpid(), (unsigned long)ts.tv_nsec, i);
    if (mkdirat(s->tmpfd, st->name, 0700) == 0) break;
    if (errno != EEXIST) return cell_error(err, errno, "mkdir %s/tmp/%s", s->dir, st->name);
  }
  st->fd = openat(s->tmpfd, st->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (st->fd < 0) return cell_error(err, errno, "open %s/tmp/%s", s->dir, st->name);
  if (flock(st->fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    close(st->fd);
    st->fd = -1;
    return cell_error(err, e, "lock %s/tmp/%s", s->dir, st->name);
  }
  return 0;
}

void img_stage_drop(struct img_store *s, struct img_stage *st) {
  if (st->fd < 0) return;
  if (cell_rm_rf_at(s->tmpfd, st->name) < 0)
    cell_warn("images: removing %s/tmp/%s: %s", s->dir, st->name, strerror(errno));
  close(st->fd);
  st->fd = -1;
}
