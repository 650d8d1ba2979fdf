/* disk.c - disk quotas as a sparse ext4 image on a loop device: create
 * (mke2fs), mount with discard, grow online (LOOP_SET_CAPACITY +
 * EXT4_IOC_RESIZE_FS), unmount and detach, report. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/quota.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "storage/storage_internal.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, __u64)
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

const char *storage_find_prog(const char *name, char *buf, size_t len) {
  static const char *dirs[] = {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(buf, len, "%s%s", dirs[i], name);
    if (access(buf, X_OK) == 0) return buf;
  }
  return name; /* execvp searches PATH */
}

int storage_disk_create(const char *image, uint64_t size, struct cell_err *err) {
  if (size < STORAGE_DISK_MIN) {
    char a[32];
    return cell_error(err, 0, "disk size %s is below the minimum of %s", storage_format_size(size, a, sizeof a), "16M");
  }
  size = (size + 4095) & ~4095ULL;
  int fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return cell_error(err, errno, "create disk image %s", image);
  if (ftruncate(fd, (off_t)size) < 0) {
    int e = errno;
    close(fd);
    unlink(image);
    return cell_error(err, e, "size disk image %s", image);
  }
  close(fd);
  char prog[64];
  char *argv[] = {(char *)storage_find_prog("mke2fs", prog, sizeof prog), "-q", "-F", "-t", "ext4", "-m", "0", "-b", "4096", "-T", "default",
                  "-E", "root_owner=0:0,nodiscard,lazy_itable_init=0,lazy_journal_init=0",
                  "-L", "cell-disk", (char *)image, NULL};
  if (storage_run(argv, err) < 0) {
    unlink(image);
    return cell_error_wrap(err, "make ext4 on %s", image);
  }
  return 0;
}

/* 1 when mnt is the root of image's mounted ext4 (dev is its loop device). */
static int mounted_on(const char *image, const char *mnt, char *dev, size_t devlen, struct cell_err *err) {
  if (storage_loop_find(image, dev, devlen, err) < 0) return -1;
  if (!*dev || !mnt) return 0;
  struct stat ds, ms, ps;
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s/..", mnt);
  if (stat(dev, &ds) < 0 || stat(mnt, &ms) < 0 || stat(parent, &ps) < 0) return 0;
  return ms.st_dev == ds.st_rdev && ps.st_dev != ms.st_dev;
}

int storage_disk_mount(const char *image, const char *mnt, struct cell_err *err) {
  char dev[64];
  int m = mounted_on(image, mnt, dev, sizeof dev, err);
  if (m < 0) return -1;
  if (m) return 0;
  if (*dev) { /* bound but not mounted here: a leftover of a killed command */
    if (storage_loop_detach_image(image, err) < 0) return -1;
  }
  cleanup_close int lfd = storage_loop_attach(image, dev, sizeof dev, err);
  if (lfd < 0) return -1;
  if (mount(dev, mnt, "ext4", MS_NOATIME | MS_NOSUID, "discard") < 0)
    return cell_error(err, errno, "mount %s (%s) on %s", dev, image, mnt);
  return 0; /* closing lfd leaves the mount as the device's only holder */
}

int storage_disk_umount(const char *image, const char *mnt, struct cell_err *err) {
  if (mnt) {
    char dev[64] = "";
    int m = image ? mounted_on(image, mnt, dev, sizeof dev, err) : 1;
    if (m < 0) return -1;
    if (m && umount2(mnt, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
      return cell_error(err, errno, "unmount %s", mnt);
  }
  if (image && storage_loop_detach_image(image, err) < 0) return -1;
  return 0;
}

static int grow_mounted(const char *image, const char *mnt, const char *dev, uint64_t new_size,
                        struct cell_err *err) {
  cleanup_close int fd = open(image, O_RDWR | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open disk image %s", image);
  struct stat st;
  if (fstat(fd, &st) < 0) return cell_error(err, errno, "stat disk image %s", image);
  cleanup_close int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0) return cell_error(err, errno, "open %s", mnt);
  struct statfs sf;
  if (fstatfs(mfd, &sf) < 0) return cell_error(err, errno, "statfs %s", mnt);
  if (sf.f_type != EXT4_SUPER_MAGIC) return cell_error(err, 0, "%s is not an ext4 mount", mnt);
  uint64_t bs = (uint64_t)sf.f_bsize;
  new_size = new_size / bs * bs;
  if (new_size < (uint64_t)st.st_size) {
    char a[32], b[32];
    return cell_error(err, 0, "disk=%s: cannot shrink the disk below its size %s",
                      storage_format_size(new_size, a, sizeof a), storage_format_size((uint64_t)st.st_size, b, sizeof b));
  }
  if (new_size == (uint64_t)st.st_size) return 0;
  if (ftruncate(fd, (off_t)new_size) < 0) return cell_error(err, errno, "extend disk image %s", image);
  if (storage_loop_set_capacity(dev, err) < 0) goto undo;
  __u64 blocks = new_size / bs;
  if (ioctl(mfd, EXT4_IOC_RESIZE_FS, &blocks) < 0) {
    if (errno == EPERM)
      cell_error(err, EPERM,
                 "online resize of %s (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE, which this process lacks; "
                 "stop the environment and set disk= again to resize it offline", mnt);
    else
      cell_error(err, errno, "EXT4_IOC_RESIZE_FS of %s to %llu blocks", mnt, (unsigned long long)blocks);
    goto undo;
  }
  return 0;
undo:
  if (ftruncate(fd, st.st_size) == 0) {
    struct cell_err ignored;
    storage_loop_set_capacity(dev, &ignored);
  }
  return -1;
}

/* Offline: extend the file, e2fsck -fp (resize2fs wants a checked fs),
 * resize2fs.  Plain file I/O: no loop device, no capability beyond root's. */
static int grow_offline(const char *image, uint64_t new_size, struct cell_err *err) {
  struct stat st;
  if (stat(image, &st) < 0) return cell_error(err, errno, "stat disk image %s", image);
  new_size &= ~4095ULL;
  if (new_size < (uint64_t)st.st_size) {
    char a[32], b[32];
    return cell_error(err, 0, "disk=%s: cannot shrink the disk below its size %s",
                      storage_format_size(new_size, a, sizeof a), storage_format_size((uint64_t)st.st_size, b, sizeof b));
  }
  if (new_size == (uint64_t)st.st_size) return 0;
  char fsck[64], resize[64], kb[32];
  int status = 1; /* 1: errors corrected */
  char *fargv[] = {(char *)storage_find_prog("e2fsck", fsck, sizeof fsck), "-f", "-p", (char *)image, NULL};
  if (storage_run_status(fargv, &status, err) < 0) return cell_error_wrap(err, "check %s before resizing", image);
  if (truncate(image, (off_t)new_size) < 0) return cell_error(err, errno, "extend disk image %s", image);
  snprintf(kb, sizeof kb, "%lluK", (unsigned long long)(new_size >> 10));
  char *rargv[] = {(char *)storage_find_prog("resize2fs", resize, sizeof resize), (char *)image, kb, NULL};
  if (storage_run(rargv, err) < 0) {
    if (truncate(image, st.st_size) < 0) { /* the fs still fits the old size */
    }
    return cell_error_wrap(err, "resize %s", image);
  }
  return 0;
}

int storage_disk_grow(const char *image, const char *mnt, uint64_t new_size, struct cell_err *err) {
  char dev[64] = "";
  int m = mounted_on(image, mnt, dev, sizeof dev, err);
  if (m < 0) return -1;
  if (m) return grow_mounted(image, mnt, dev, new_size, err);
  if (*dev) return cell_error(err, EBUSY, "disk image %s is on %s but not mounted on %s", image, dev, mnt ? mnt : "-");
  return grow_offline(image, new_size, err);
}

int storage_disk_info(const char *image, const char *mnt, struct storage_disk_info *info, struct cell_err *err) {
  memset(info, 0, sizeof *info);
  struct stat st;
  if (stat(image, &st) < 0) return cell_error(err, errno, "stat disk image %s", image);
  info->size = (uint64_t)st.st_size;
  info->allocated = (uint64_t)st.st_blocks * 512;
  char dev[64];
  int m = mounted_on(image, mnt, dev, sizeof dev, err);
  if (m < 0) return -1;
  if (!m) return 0;
  struct statvfs sv;
  if (statvfs(mnt, &sv) < 0) return cell_error(err, errno, "statvfs %s", mnt);
  info->mounted = true;
  snprintf(info->loop_dev, sizeof info->loop_dev, "%s", dev);
  info->fs_total = (uint64_t)sv.f_blocks * sv.f_frsize;
  info->fs_avail = (uint64_t)sv.f_bavail * sv.f_frsize;
  info->fs_used = ((uint64_t)sv.f_blocks - sv.f_bfree) * sv.f_frsize;
  return 0;
}

/* QCMD(Q_GETFMT, PRJQUOTA) without the signed shift past INT_MAX that the
 * kernel header's macro does (undefined behaviour: UBSan stops on it). */
static int prj_getfmt_cmd(void) { return (int)(((unsigned)Q_GETFMT << SUBCMDSHIFT) | (PRJQUOTA & SUBCMDMASK)); }

const char *storage_quota_method(const char *dir, bool has_image, char *prj, size_t prjlen) {
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  unsigned int fmt = 0;
  if (fd < 0) snprintf(prj, prjlen, "unknown: open %s: %s", dir, strerror(errno));
  else if (syscall(SYS_quotactl_fd, fd, prj_getfmt_cmd(), 0, &fmt) == 0)
    snprintf(prj, prjlen, "available (format %u on the filesystem of %s)", fmt, dir);
  else if (errno == ESRCH)
    snprintf(prj, prjlen, "unavailable: not enabled on the filesystem of %s", dir);
  else if (errno == ENOSYS)
    snprintf(prj, prjlen, "unavailable: the kernel has no quotactl_fd");
  else
    snprintf(prj, prjlen, "unavailable: quotactl on %s: %s", dir, strerror(errno));
  return has_image ? "loop-ext4" : "none";
}
