/* snapshot.c - snapshots of an environment's own files: SNAPDIR/SNAP/files
 * (an exact copy, storage/copy.c) and SNAPDIR/SNAP/created.  A snapshot is
 * made as SNAPDIR/.tmp-SNAP and renamed into place, so a killed create
 * leaves only a .tmp- dir that the next command removes. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage_internal.h"

int storage_snap_name_ok(const char *snap, struct cell_err *err) {
  size_t n = snap ? strlen(snap) : 0;
  if (n == 0 || n > 64 || snap[0] == '.' || snap[0] == '-')
    return cell_error(err, 0, "snapshot name '%s': 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                      snap ? snap : "");
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)snap[i]) && !strchr("_.-", snap[i]))
      return cell_error(err, 0, "snapshot name '%s': character '%c' is not allowed (use [A-Za-z0-9_.-])", snap,
                        snap[i]);
  return 0;
}

/* Remove the .tmp-* leftovers of killed creates. */
static void sweep_tmp(int sdfd) {
  int dup_fd = dup(sdfd);
  if (dup_fd < 0) return;
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return;
  }
  rewinddir(d); /* the dup shares the offset */
  struct dirent *de;
  while ((de = readdir(d)))
    if (strncmp(de->d_name, ".tmp-", 5) == 0 || strncmp(de->d_name, ".rm-", 4) == 0) cell_rm_rf_at(sdfd, de->d_name);
  closedir(d);
}

static int open_snapdir(const char *snapdir, bool create, struct cell_err *err) {
  if (create && cell_mkdir_p(snapdir, 0700) < 0) return cell_error(err, errno, "create snapshot dir %s", snapdir);
  int fd = open(snapdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && !(errno == ENOENT && !create)) return cell_error(err, errno, "open snapshot dir %s", snapdir);
  if (fd < 0) errno = ENOENT;
  return fd;
}

int storage_snap_create(const char *snapdir, const char *snap, const char *files, struct storage_copy_stats *stats,
                        struct cell_err *err) {
  if (storage_snap_name_ok(snap, err) < 0) return -1;
  cleanup_close int sdfd = open_snapdir(snapdir, true, err);
  if (sdfd < 0) return -1;
  sweep_tmp(sdfd);
  struct stat st;
  if (fstatat(sdfd, snap, &st, AT_SYMLINK_NOFOLLOW) == 0) return cell_error(err, EEXIST, "snapshot %s", snap);
  cleanup_close int src = open(files, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0) return cell_error(err, errno, "open %s", files);
  if (syncfs(src) < 0) return cell_error(err, errno, "syncfs %s", files);
  char tmp[NAME_MAX + 1];
  snprintf(tmp, sizeof tmp, ".tmp-%s", snap);
  if (mkdirat(sdfd, tmp, 0700) < 0) return cell_error(err, errno, "mkdir %s/%s", snapdir, tmp);
  cleanup_close int tfd = openat(sdfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r = tfd < 0 ? cell_error(err, errno, "open %s/%s", snapdir, tmp) : 0;
  if (r == 0) r = storage_copy_treeat(src, tfd, "files", 0, stats, err);
  if (r == 0) {
    char t[32];
    int n = snprintf(t, sizeof t, "%" PRId64 "\n", (int64_t)time(NULL));
    r = cell_write_atomic_at(tfd, "created", t, (size_t)n, 0600, err);
  }
  if (r == 0 && (syncfs(tfd) < 0 || renameat(sdfd, tmp, sdfd, snap) < 0))
    r = cell_error(err, errno, "commit snapshot %s/%s", snapdir, snap);
  if (r < 0) {
    cell_rm_rf_at(sdfd, tmp);
    return cell_error_wrap(err, "snapshot %s", snap);
  }
  return 0;
}

static uint64_t tree_alloc(int dirfd) {
  uint64_t sum = 0;
  int dup_fd = dup(dirfd);
  if (dup_fd < 0) return 0;
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return 0;
  }
  rewinddir(d); /* the dup shares the offset */
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    sum += (uint64_t)st.st_blocks * 512;
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        sum += tree_alloc(fd);
        close(fd);
      }
    }
  }
  closedir(d);
  return sum;
}

static int cmp_snap(const void *a, const void *b) {
  const struct storage_snap *x = a, *y = b;
  if (x->created != y->created) return x->created < y->created ? -1 : 1;
  return strcmp(x->name, y->name);
}

int storage_snap_list(const char *snapdir, struct storage_snap **out, size_t *n, struct cell_err *err) {
  *out = NULL;
  *n = 0;
  cleanup_close int sdfd = open_snapdir(snapdir, false, err);
  if (sdfd < 0) return errno == ENOENT ? 0 : -1;
  sweep_tmp(sdfd);
  int dup_fd = dup(sdfd);
  if (dup_fd < 0) return cell_error(err, errno, "dup fd of %s", snapdir);
  cleanup_closedir DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return cell_error(err, errno, "read dir %s", snapdir);
  }
  rewinddir(d); /* the dup shares the offset */
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    cleanup_close int fd = openat(sdfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      struct storage_snap *nv = realloc(*out, cap * sizeof **out);
      if (!nv) {
        free(*out);
        *out = NULL;
        *n = 0;
        return cell_error(err, ENOMEM, "snapshot list");
      }
      *out = nv;
    }
    struct storage_snap *s = &(*out)[(*n)++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", de->d_name);
    cleanup_free char *t = cell_read_fileat(fd, "created", NULL);
    s->created = t ? strtoll(t, NULL, 10) : 0;
    int ffd = openat(fd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ffd >= 0) {
      s->bytes = tree_alloc(ffd);
      close(ffd);
    }
  }
  if (*n) qsort(*out, *n, sizeof **out, cmp_snap);
  return 0;
}

/* Copy the snapshot beside FILES, swap the two with RENAME_EXCHANGE, remove
 * the old: a kill at any instant leaves FILES whole (old or new) plus a
 * FILES.restore leftover the next restore removes.  FILES that is a mount
 * point (cannot be renamed) is emptied and refilled in place instead. */
int storage_snap_restore(const char *snapdir, const char *snap, const char *files, struct cell_err *err) {
  if (storage_snap_name_ok(snap, err) < 0) return -1;
  char p[PATH_MAX], side[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s/files", snapdir, snap);
  struct stat st;
  if (stat(p, &st) < 0) return cell_error(err, errno, "snapshot %s (%s)", snap, p);
  if (snprintf(side, sizeof side, "%s.restore", files) >= (int)sizeof side)
    return cell_error(err, ENAMETOOLONG, "restore %s", files);
  cleanup_close int pfd = open(side, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (pfd >= 0 && cell_rm_rf_at(AT_FDCWD, side) < 0) return cell_error(err, errno, "remove leftover %s", side);
  if (storage_copy_tree(p, side, 0, NULL, err) < 0) return -1;
  if (renameat2(AT_FDCWD, side, AT_FDCWD, files, RENAME_EXCHANGE) < 0) {
    int e = errno;
    cell_rm_rf_at(AT_FDCWD, side);
    if (e != EBUSY && e != EXDEV) return cell_error(err, e, "swap %s with the restored copy", files);
    if (storage_replace_contents(p, files, 0, err) < 0) return -1;
  } else if (cell_rm_rf_at(AT_FDCWD, side) < 0) {
    return cell_error(err, errno, "remove the replaced files %s", side);
  }
  cleanup_close int fd = open(files, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) syncfs(fd);
  return 0;
}

int storage_snap_rm(const char *snapdir, const char *snap, struct cell_err *err) {
  if (storage_snap_name_ok(snap, err) < 0) return -1;
  cleanup_close int sdfd = open_snapdir(snapdir, false, err);
  if (sdfd < 0) return errno == ENOENT ? cell_error(err, ENOENT, "snapshot %s", snap) : -1;
  struct stat st;
  if (fstatat(sdfd, snap, &st, AT_SYMLINK_NOFOLLOW) < 0) return cell_error(err, errno, "snapshot %s", snap);
  /* rename first: a killed rm leaves a .rm- dir the next command sweeps */
  char rm[NAME_MAX + 1];
  snprintf(rm, sizeof rm, ".rm-%s", snap);
  if (renameat(sdfd, snap, sdfd, rm) < 0) return cell_error(err, errno, "remove snapshot %s", snap);
  if (cell_rm_rf_at(sdfd, rm) < 0) return cell_error(err, errno, "remove snapshot %s/%s", snapdir, rm);
  return 0;
}
