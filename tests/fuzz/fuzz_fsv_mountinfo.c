/* fuzz_fsv_mountinfo.c - cellfs's host mount parser (fsview/cgroup.c
 * fsv_host_init): which cgroup mount serves each controller, read from a
 * mountinfo text.  The input is written to a memfd whose /proc/self/fd path
 * stands in for /proc/self/mountinfo; the host /proc files are the real ones. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsview/fsv_cgroup.h"
#include "fuzz.h"

static int mfd = -1;
static char mpath[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (mfd < 0) {
    mfd = memfd_create("fuzz-mountinfo", MFD_CLOEXEC);
    if (mfd < 0) abort();
    snprintf(mpath, sizeof mpath, "/proc/self/fd/%d", mfd);
  }
  if (ftruncate(mfd, 0) < 0 || pwrite(mfd, data, size, 0) != (ssize_t)size) abort();
  struct fsv_host h;
  struct cell_err err;
  if (fsv_host_init(&h, mpath, NULL, &err) == 0) fsv_host_free(&h);
  return 0;
}
