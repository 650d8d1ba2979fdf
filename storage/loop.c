/* loop.c - loop devices for disk images: attach (LOOP_CTL_GET_FREE +
 * LOOP_CONFIGURE, autoclear), find the device bound to an image, detach. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage_internal.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
  __u32 fd;
  __u32 block_size;
  struct loop_info64 info;
  __u64 __reserved[8];
};
#endif

static int loop_bind_old(int lfd, int imgfd, const char *image) {
  if (ioctl(lfd, LOOP_SET_FD, imgfd) < 0) return -1;
  struct loop_info64 info = {0};
  info.lo_flags = LO_FLAGS_AUTOCLEAR;
  snprintf((char *)info.lo_file_name, LO_NAME_SIZE, "%s", image);
  if (ioctl(lfd, LOOP_SET_STATUS64, &info) < 0) {
    int e = errno;
    ioctl(lfd, LOOP_CLR_FD, 0);
    errno = e;
    return -1;
  }
  return 0;
}

int storage_loop_attach(const char *image, char *dev, size_t devlen, struct cell_err *err) {
  cleanup_close int imgfd = open(image, O_RDWR | O_CLOEXEC);
  if (imgfd < 0) return cell_error(err, errno, "open disk image %s", image);
  cleanup_close int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) return cell_error(err, errno, "open /dev/loop-control");
  for (int attempt = 0; attempt < 50; attempt++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) return cell_error(err, errno, "LOOP_CTL_GET_FREE on /dev/loop-control");
    snprintf(dev, devlen, "/dev/loop%d", n);
    int lfd = open(dev, O_RDWR | O_CLOEXEC);
    if (lfd < 0) {
      if (errno == ENOENT) { /* the node appears a moment after creation */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        continue;
      }
      return cell_error(err, errno, "open %s", dev);
    }
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = (__u32)imgfd;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", image);
    int r = ioctl(lfd, LOOP_CONFIGURE, &cfg);
    if (r < 0 && (errno == EINVAL || errno == ENOTTY)) r = loop_bind_old(lfd, imgfd, image);
    if (r == 0) return lfd; /* autoclear: the device lives while lfd or a mount holds it */
    int e = errno;
    close(lfd);
    if (e == EBUSY) continue; /* another process took it between GET_FREE and here */
    return cell_error(err, e, "bind %s to %s", image, dev);
  }
  return cell_error(err, EBUSY, "no free loop device for %s after 50 tries", image);
}

/* The loop device whose backing file is image (same dev and inode). */
int storage_loop_find(const char *image, char *dev, size_t devlen, struct cell_err *err) {
  *dev = 0;
  struct stat ist;
  if (stat(image, &ist) < 0) {
    if (errno == ENOENT) return 0;
    return cell_error(err, errno, "stat disk image %s", image);
  }
  cleanup_closedir DIR *d = opendir("/sys/block");
  if (!d) return cell_error(err, errno, "open /sys/block");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "loop", 4) != 0) continue;
    char p[PATH_MAX], buf[PATH_MAX];
    snprintf(p, sizeof p, "/sys/block/%s/loop/backing_file", de->d_name);
    if (cell_read_small(p, buf, sizeof buf) <= 0) continue; /* unbound */
    char cand[64];
    snprintf(cand, sizeof cand, "/dev/%s", de->d_name);
    cleanup_close int fd = open(cand, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct loop_info64 li;
    if (ioctl(fd, LOOP_GET_STATUS64, &li) < 0) continue;
    if (li.lo_inode == ist.st_ino && li.lo_device == ist.st_dev) {
      snprintf(dev, devlen, "%s", cand);
      return 0;
    }
  }
  return 0;
}

/* Detach whatever loop device image still has.  Waits up to ~5 s: an
 * autoclear in flight, or a mount namespace that copied the mount a moment
 * ago (another process's unshare) and still holds the filesystem. */
int storage_loop_detach_image(const char *image, struct cell_err *err) {
  char dev[64];
  for (int i = 0; i < 500; i++) {
    if (storage_loop_find(image, dev, sizeof dev, err) < 0) return -1;
    if (!*dev) return 0;
    if (i >= 20 && i % 50 == 20) { /* not autocleared after ~200 ms: clear it ourselves */
      cleanup_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO && errno != EBUSY)
        return cell_error(err, errno, "LOOP_CLR_FD on %s (bound to %s)", dev, image);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return cell_error(err, EBUSY, "loop device %s for %s stays bound (still in use?)", dev, image);
}

int storage_loop_set_capacity(const char *dev, struct cell_err *err) {
  cleanup_close int fd = open(dev, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cell_error(err, errno, "open %s", dev);
  if (ioctl(fd, LOOP_SET_CAPACITY, 0) < 0) return cell_error(err, errno, "LOOP_SET_CAPACITY on %s", dev);
  return 0;
}
