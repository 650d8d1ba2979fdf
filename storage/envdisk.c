/* envdisk.c - an environment's disk quota: DIR/disk.img mounted on
 * DIR/data, holding the overlay's upper/ and work/ (see storage.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage_internal.h"

struct env_paths {
  char img[PATH_MAX], data[PATH_MAX];
};

static int env_paths(const char *envdir, struct env_paths *p, struct cell_err *err) {
  if (snprintf(p->img, sizeof p->img, "%s/disk.img", envdir) >= (int)sizeof p->img ||
      snprintf(p->data, sizeof p->data, "%s/data", envdir) >= (int)sizeof p->data)
    return cell_error(err, ENAMETOOLONG, "environment dir %s", envdir);
  return 0;
}

bool storage_env_has_disk(const char *envdir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/disk.img", envdir);
  return access(p, F_OK) == 0;
}

/* upper/ and work/ at the top of the mounted disk. */
static int ensure_dirs(const char *mnt, struct cell_err *err) {
  static const char *const dirs[] = {"upper", "work"};
  for (size_t i = 0; i < 2; i++) {
    char p[PATH_MAX + 8];
    snprintf(p, sizeof p, "%s/%s", mnt, dirs[i]);
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return cell_error(err, errno, "create %s", p);
  }
  return 0;
}

/* Empty a host dir (the old upper/work once they moved into the disk). */
static int empty_dir(const char *dir, struct cell_err *err) {
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : cell_error(err, errno, "open %s", dir);
  cleanup_closedir DIR *d = fdopendir(dup(fd));
  if (!d) return cell_error(err, errno, "read %s", dir);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && cell_rm_rf_at(fd, de->d_name) < 0)
      return cell_error(err, errno, "remove %s/%s", dir, de->d_name);
  return 0;
}

int storage_env_disk_create(const char *envdir, uint64_t size, struct cell_err *err) {
  struct env_paths p;
  if (env_paths(envdir, &p, err) < 0) return -1;
  if (access(p.img, F_OK) == 0) return cell_error(err, EEXIST, "disk image %s", p.img);
  struct stat ds, es;
  if (stat(p.data, &ds) == 0 && stat(envdir, &es) == 0 && ds.st_dev != es.st_dev)
    return cell_error(err, EBUSY, "%s is a mount point (is the environment running?)", p.data);
  char tmp[PATH_MAX + 8], mnt[PATH_MAX + 16], upper[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.new", p.img);
  snprintf(mnt, sizeof mnt, "%s/.disk-new", envdir);
  snprintf(upper, sizeof upper, "%s/upper", p.data);
  /* leftovers of a killed attempt */
  storage_disk_umount(tmp, mnt, err);
  unlink(tmp);
  rmdir(mnt);
  if (storage_disk_create(tmp, size, err) < 0) return -1;
  int r = mkdir(mnt, 0700) < 0 ? cell_error(err, errno, "create %s", mnt) : 0;
  if (r == 0) r = storage_disk_mount(tmp, mnt, err);
  if (r == 0) {
    struct stat st;
    char dst[PATH_MAX + 32];
    snprintf(dst, sizeof dst, "%s/upper", mnt);
    if (stat(upper, &st) == 0) r = storage_copy_tree(upper, dst, 0, NULL, err);
    if (r == 0) r = ensure_dirs(mnt, err);
    struct cell_err e2;
    if (storage_disk_umount(tmp, mnt, &e2) < 0 && r == 0) {
      *err = e2;
      r = -1;
    }
  }
  rmdir(mnt);
  if (r == 0 && rename(tmp, p.img) < 0) r = cell_error(err, errno, "rename %s to %s", tmp, p.img);
  if (r < 0) {
    unlink(tmp);
    return cell_error_wrap(err, "disk for %s", envdir);
  }
  /* the files are in the disk now; the host copies below the mount point go */
  char work[PATH_MAX + 8];
  snprintf(work, sizeof work, "%s/work", p.data);
  if (empty_dir(upper, err) < 0 || empty_dir(work, err) < 0) return -1;
  return 0;
}

int storage_env_disk_attach(const char *envdir, struct cell_err *err) {
  struct env_paths p;
  if (env_paths(envdir, &p, err) < 0) return -1;
  if (access(p.img, F_OK) != 0) return 0;
  if (storage_disk_mount(p.img, p.data, err) < 0) return -1;
  return ensure_dirs(p.data, err);
}

int storage_env_disk_detach(const char *envdir, struct cell_err *err) {
  struct env_paths p;
  if (env_paths(envdir, &p, err) < 0) return -1;
  if (access(p.img, F_OK) != 0) return 0;
  return storage_disk_umount(p.img, p.data, err);
}

int storage_env_disk_resize(const char *envdir, uint64_t size, struct cell_err *err) {
  struct env_paths p;
  if (env_paths(envdir, &p, err) < 0) return -1;
  if (access(p.img, F_OK) != 0) return storage_env_disk_create(envdir, size, err);
  return storage_disk_grow(p.img, p.data, size, err);
}

int storage_env_disk_describe(const char *envdir, struct storage_env_disk *out, struct cell_err *err) {
  memset(out, 0, sizeof *out);
  struct env_paths p;
  if (env_paths(envdir, &p, err) < 0) return -1;
  out->has_disk = access(p.img, F_OK) == 0;
  out->method = storage_quota_method(envdir, out->has_disk, out->project_quota, sizeof out->project_quota);
  if (out->has_disk && storage_disk_info(p.img, p.data, &out->info, err) < 0) return -1;
  return 0;
}
