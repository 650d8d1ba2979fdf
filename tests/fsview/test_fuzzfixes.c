/* test_fuzzfixes.c - regressions for inputs the fuzzers (tests/fuzz) found
 * in cellfs's parsers; the crashing inputs are also seeds in
 * tests/fuzz/seeds/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsview/fsv_cgroup.h"
#include "unit.h"

/* Host init from a mountinfo text (in a temporary file). */
static int host_from(const char *mountinfo, struct fsv_host *h) {
  char path[] = "/tmp/fsview-fuzzfix-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  ssize_t n = write(fd, mountinfo, strlen(mountinfo));
  close(fd);
  struct cell_err err = {0};
  int rc = n == (ssize_t)strlen(mountinfo) ? fsv_host_init(h, path, "/proc", &err) : -1;
  if (rc < 0) printf("# host init: %s\n", err.msg);
  unlink(path);
  return rc;
}

/* fuzz_fsv_mountinfo: "\0&0" was decoded as an octal escape (shifting a
 * negative value: undefined behaviour), so a mount point holding a
 * backslash and a digit came out as garbage.  Only \ooo with three octal
 * digits is an escape. */
static void test_mountinfo_escapes(void) {
  struct fsv_host h;
  const char *mi =
      "30 25 0:40 / /tmp/a\\040b rw - cgroup cgroup rw,memory\n"
      "31 25 0:41 /x\\0&0 /tmp/c\\0&0 rw - cgroup cgroup rw,cpu\n"
      "32 25 0:42 / /tmp/d\\9999\\47 rw - cgroup cgroup rw,pids\n";
  if (host_from(mi, &h) < 0) {
    CHECK(0, "mountinfo with escapes parsed");
    return;
  }
  CHECK_STR(h.mnt[R_MEM], "/tmp/a b", "mountinfo: \\040 is a space");
  CHECK_STR(h.mnt[R_CPU], "/tmp/c\\0&0", "mountinfo: \\0&0 is not an escape");
  CHECK_STR(h.mroot[R_CPU], "/x\\0&0", "mountinfo: root \\0&0 is not an escape");
  CHECK_STR(h.mnt[R_PIDS], "/tmp/d\\9999\\47", "mountinfo: \\999 and a short \\47 are not escapes");
  fsv_host_free(&h);
}

int main(void) {
  test_mountinfo_escapes();
  UNIT_DONE();
}
