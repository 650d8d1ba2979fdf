/* test_lib_mountinfo.c - lib/mountinfo.c: fields, escapes, malformed lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mountinfo.h"
#include "unit.h"

int main(void) {
  struct cell_mountinfo m;
  char l1[] = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n";
  CHECK(cell_mountinfo_parse(l1, &m) == 0, "the proc(5) example parses");
  CHECK(m.id == 36 && m.parent == 35 && m.major == 98 && m.minor == 0, "ids and device numbers");
  CHECK_STR(m.root, "/mnt1", "root");
  CHECK_STR(m.point, "/mnt2", "mount point");
  CHECK_STR(m.opts, "rw,noatime", "mount options");
  CHECK_STR(m.optional, "master:1", "optional field");
  CHECK_STR(m.fstype, "ext3", "fstype");
  CHECK_STR(m.source, "/dev/root", "source");
  CHECK_STR(m.super, "rw,errors=continue", "superblock options, newline dropped");

  char l2[] = "40 22 0:29 /a\\040b\\011c /mnt/x\\012y\\134z rw shared:2 master:7 - cgroup my\\040src rw,memory";
  CHECK(cell_mountinfo_parse(l2, &m) == 0, "escaped line parses");
  CHECK_STR(m.root, "/a b\tc", "\\040 is a space, \\011 a tab");
  CHECK_STR(m.point, "/mnt/x\ny\\z", "\\012 is a newline, \\134 a backslash");
  CHECK_STR(m.source, "my src", "source unescaped");
  CHECK_STR(m.optional, "shared:2 master:7", "several optional fields kept together");
  CHECK_STR(m.super, "rw,memory", "super options after the escapes");

  char l3[] = "1 0 0:1 / / rw - rootfs rootfs rw";
  CHECK(cell_mountinfo_parse(l3, &m) == 0 && !strcmp(m.optional, "") && !strcmp(m.fstype, "rootfs"),
        "no optional fields: optional is \"\"");

  char s1[] = "\\0&0 \\9999 \\47 \\ \\1 \\400 \\377";
  cell_mountinfo_unescape(s1);
  CHECK_STR(s1, "\\0&0 \\9999 \\47 \\ \\1 \\400 \377", "malformed escapes stay as they are; \\377 decodes");

  const char *bad[] = {
      "",
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw",  /* no " - " */
      "36 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root",                    /* no super options */
      "36 35 98:0 /mnt1",                                              /* too short */
      "x 35 98:0 / / rw - ext3 /dev/root rw",                          /* id not a number */
      "36 35 980 / / rw - ext3 /dev/root rw",                          /* device without ':' */
      "36 35 98:y / / rw - ext3 /dev/root rw",                         /* bad minor */
      "-1 35 98:0 / / rw - ext3 /dev/root rw",                         /* negative id */
      "99999999999 35 98:0 / / rw - ext3 /dev/root rw",                /* id past 32 bits */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *c = strdup(bad[i]);
    errno = 0;
    int rc = cell_mountinfo_parse(c, &m);
    char name[128];
    snprintf(name, sizeof name, "malformed line %zu rejected with EINVAL", i);
    CHECK(rc == -1 && errno == EINVAL, name);
    free(c);
  }

  /* a line far longer than any fixed buffer: 20000-byte mount point */
  size_t n = 20000;
  char *lp = malloc(n + 100);
  strcpy(lp, "50 1 0:5 / /");
  size_t off = strlen(lp);
  for (size_t i = 0; i < n; i++) lp[off + i] = i % 100 == 99 ? '/' : 'p';
  strcpy(lp + off + n, "\\040end rw - tmpfs tmpfs rw\n");
  CHECK(cell_mountinfo_parse(lp, &m) == 0, "a 20 KB line parses");
  CHECK(m.point && strlen(m.point) == n + 1 + 4 && !strcmp(m.point + n + 1, " end") && !strcmp(m.fstype, "tmpfs"),
        "the long mount point whole, its escape decoded");
  free(lp);
  UNIT_DONE();
}
