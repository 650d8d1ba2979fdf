/* test_copy.c - the tree copier and snapshots against a reference walk
 * (treesum.h): owners, modes, xattrs (trusted.overlay.* too), hardlinks,
 * sparse files, device nodes, fifos, symlinks, times; the OCI whiteout
 * conversion; failure paths leave nothing.  Runs in a private mount
 * namespace, in a temporary dir it removes. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/file.h"
#include "storage/storage.h"
#include "treesum.h"
#include "unit.h"

static char top[] = "/var/tmp/hstore-unit-XXXXXX";
static char pbuf[4][4096];
static const char *P(int i, const char *rel) {
  snprintf(pbuf[i], sizeof pbuf[i], "%s/%s", top, rel);
  return pbuf[i];
}

static void put(const char *path, off_t off, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT, 0644);
  if (fd < 0 || pwrite(fd, data, strlen(data), off) < 0) perror(path);
  close(fd);
}

static int build_src(void) {
  int bad = 0;
  bad |= mkdir(P(0, "src"), 0755);
  bad |= mkdir(P(0, "src/etc"), 0750);
  bad |= mkdir(P(0, "src/tmp"), 01777);
  bad |= mkdir(P(0, "src/opaque"), 0700);
  bad |= mkdir(P(0, "src/deep"), 0755);
  bad |= mkdir(P(0, "src/deep/er"), 0711);
  put(P(0, "src/etc/hostname"), 0, "hstore\n");
  put(P(0, "src/deep/er/empty"), 0, "");
  put(P(0, "src/suid"), 0, "#!/bin/sh\n");
  bad |= chown(P(0, "src/suid"), 1234, 5678);
  bad |= chmod(P(0, "src/suid"), 04755);
  bad |= chown(P(0, "src/etc"), 100000, 100000);
  /* sparse: 8M, data at 1M and at 3M+100 */
  int fd = open(P(0, "src/sparse"), O_WRONLY | O_CREAT, 0600);
  bad |= fd < 0 || ftruncate(fd, 8 << 20) < 0;
  char blk[8192];
  memset(blk, 'x', sizeof blk);
  bad |= pwrite(fd, blk, 4096, 1 << 20) != 4096;
  bad |= pwrite(fd, blk, 8192, (3 << 20) + 100) != 8192;
  close(fd);
  /* hardlinks across dirs: 3 names */
  put(P(0, "src/etc/linked"), 0, "one inode\n");
  bad |= link(P(0, "src/etc/linked"), P(1, "src/deep/linked2"));
  bad |= link(P(0, "src/etc/linked"), P(1, "src/deep/er/linked3"));
  bad |= symlink("../etc/hostname", P(0, "src/deep/rel-link"));
  bad |= symlink("/etc/passwd", P(0, "src/abs-link"));
  bad |= lchown(P(0, "src/abs-link"), 42, 43);
  bad |= link(P(0, "src/abs-link"), P(1, "src/abs-link-hard"));
  bad |= mknod(P(0, "src/whiteout"), S_IFCHR | 0, makedev(0, 0));
  bad |= mknod(P(0, "src/null"), S_IFCHR | 0666, makedev(1, 3));
  bad |= mkfifo(P(0, "src/fifo"), 0640);
  bad |= setxattr(P(0, "src/opaque"), "trusted.overlay.opaque", "y", 1, 0);
  put(P(0, "src/opaque/kept"), 0, "kept\n");
  bad |= setxattr(P(0, "src/etc/hostname"), "user.comment", "a value", 7, 0);
  bad |= setxattr(P(0, "src/etc/hostname"), "trusted.overlay.origin", "\x00\xfb\x21", 3, 0);
  bad |= lsetxattr(P(0, "src/abs-link"), "trusted.sym", "s", 1, 0);
  bad |= setxattr(P(0, "src/etc"), "user.dir", "d", 1, 0);
  /* security.capability v2: cap_net_bind_service, set after the chown */
  unsigned char cap[20] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x04};
  bad |= setxattr(P(0, "src/suid"), "security.capability", cap, sizeof cap, 0);
  struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  bad |= utimensat(AT_FDCWD, P(0, "src/etc/hostname"), ts, 0);
  bad |= utimensat(AT_FDCWD, P(0, "src/abs-link"), ts, AT_SYMLINK_NOFOLLOW);
  bad |= utimensat(AT_FDCWD, P(0, "src/etc"), ts, 0);
  return bad ? -1 : 0;
}

static int same_tree(const char *a, const char *b, const char *what) {
  char *x = treesum(a), *y = treesum(b);
  int ok = x && y && strcmp(x, y) == 0;
  if (!ok) printf("# %s differs:\n# --- %s\n%s# --- %s\n%s", what, a, x ? x : "(null)\n", b, y ? y : "(null)\n");
  free(x);
  free(y);
  return ok;
}

static uint64_t allocated(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void test_exact_copy(void) {
  struct cell_err err = {0};
  struct storage_copy_stats s = {0};
  int r = storage_copy_tree(P(0, "src"), P(1, "dst"), 0, &s, &err);
  CHECK(r == 0, "copy succeeds");
  if (r) printf("# %s\n", err.msg);
  CHECK(same_tree(P(0, "src"), P(1, "dst"), "copy"), "copy equals source (owners, modes, xattrs, links, sparse)");
  CHECK(allocated(P(0, "dst/sparse")) <= 64 * 1024, "sparse file stays sparse");
  struct stat a, b;
  CHECK(stat(P(0, "dst/etc/linked"), &a) == 0 && stat(P(1, "dst/deep/er/linked3"), &b) == 0 && a.st_ino == b.st_ino &&
            a.st_nlink == 3,
        "hardlinks are one inode with 3 names");
  CHECK(s.hardlinks == 3 && s.dirs == 6, "stats count hardlinks and dirs");
  unsigned char cap[20];
  CHECK(getxattr(P(0, "dst/suid"), "security.capability", cap, sizeof cap) == 20, "security.capability kept");
  CHECK(stat(P(0, "dst/suid"), &a) == 0 && (a.st_mode & 07777) == 04755 && a.st_uid == 1234,
        "suid bit kept after chown");

  /* with reflinks off the result is the same */
  r = storage_copy_tree(P(0, "src"), P(1, "dst-noreflink"), STORAGE_COPY_NO_REFLINK, NULL, &err);
  CHECK(r == 0 && same_tree(P(0, "src"), P(1, "dst-noreflink"), "copy without reflink"), "copy_file_range path exact");
}

static void test_oci_whiteouts(void) {
  struct cell_err err = {0};
  int r = storage_copy_tree(P(0, "src"), P(1, "oci"), STORAGE_COPY_OCI_WHITEOUTS, NULL, &err);
  CHECK(r == 0, "OCI copy succeeds");
  struct stat st;
  CHECK(lstat(P(0, "oci/whiteout"), &st) < 0 && errno == ENOENT, "overlay whiteout not copied as a char device");
  CHECK(lstat(P(0, "oci/.wh.whiteout"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0, ".wh.whiteout made");
  CHECK(lstat(P(0, "oci/opaque/.wh..wh..opq"), &st) == 0 && S_ISREG(st.st_mode), "opaque dir marker made");
  CHECK(getxattr(P(0, "oci/opaque"), "trusted.overlay.opaque", NULL, 0) < 0, "trusted.overlay.opaque dropped");
  CHECK(getxattr(P(0, "oci/etc/hostname"), "trusted.overlay.origin", NULL, 0) < 0 &&
            getxattr(P(0, "oci/etc/hostname"), "user.comment", NULL, 0) == 7,
        "other xattrs kept, trusted.overlay.* dropped");
  CHECK(lstat(P(0, "oci/null"), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
        "a real device node stays");
}

static void test_failures(void) {
  struct cell_err err = {0};
  CHECK(storage_copy_tree(P(0, "src"), P(1, "dst"), 0, NULL, &err) < 0 && strstr(err.msg, "File exists"),
        "copy onto an existing dst fails");
  CHECK(access(P(0, "dst/etc/hostname"), F_OK) == 0, "existing dst left intact");
  CHECK(storage_copy_tree(P(0, "nonexistent"), P(1, "dst2"), 0, NULL, &err) < 0 && strstr(err.msg, "nonexistent"),
        "missing source names the path");
  /* a mount point below the source: refused, destination removed */
  int r = mkdir(P(0, "src2"), 0755) | mkdir(P(0, "src2/m"), 0755) |
          mount("tmpfs", P(0, "src2/m"), "tmpfs", 0, "size=1m");
  CHECK(r == 0, "nested mount set up");
  r = storage_copy_tree(P(0, "src2"), P(1, "dst3"), 0, NULL, &err);
  CHECK(r < 0 && strstr(err.msg, "mount point"), "nested mount refused");
  CHECK(access(P(0, "dst3"), F_OK) < 0, "failed copy leaves nothing");
  umount(P(0, "src2/m"));
}

static void test_snapshots(void) {
  struct cell_err err = {0};
  const char *sd = P(3, "snaps");
  CHECK(storage_copy_tree(P(0, "src"), P(1, "env"), 0, NULL, &err) == 0, "env files made");
  char *before = treesum(P(0, "env"));
  CHECK(storage_snap_create(sd, "s1", P(0, "env"), NULL, &err) == 0, "snapshot create");
  CHECK(storage_snap_create(sd, "s1", P(0, "env"), NULL, &err) < 0 && strstr(err.msg, "s1"), "duplicate refused");
  CHECK(storage_snap_create(sd, "a/b", P(0, "env"), NULL, &err) < 0 && strstr(err.msg, "not allowed"),
        "bad name refused");
  /* change everything */
  put(P(0, "env/etc/hostname"), 0, "changed");
  put(P(0, "env/newfile"), 0, "new");
  cell_rm_rf_at(AT_FDCWD, P(0, "env/deep"));
  if (chmod(P(0, "env/tmp"), 0700) || chown(P(0, "env/suid"), 0, 0)) perror("change");
  CHECK(mkdir(P(0, "snaps/.tmp-killed"), 0700) == 0, "a killed create's leftover");
  struct storage_snap *v = NULL;
  size_t n = 0;
  CHECK(storage_snap_list(sd, &v, &n, &err) == 0 && n == 1 && strcmp(v[0].name, "s1") == 0 && v[0].created > 0 &&
            v[0].bytes > 0,
        "list shows s1 with time and size");
  if (n) printf("# %s %lld %llu\n", v[0].name, (long long)v[0].created, (unsigned long long)v[0].bytes);
  free(v);
  CHECK(access(P(0, "snaps/.tmp-killed"), F_OK) < 0, "leftover swept by list");
  int r = storage_snap_restore(sd, "s1", P(0, "env"), &err);
  if (r) printf("# %s\n", err.msg);
  char *after = treesum(P(0, "env"));
  CHECK(r == 0 && before && after && strcmp(before, after) == 0, "restore brings back the exact tree");
  CHECK(access(P(0, "env.restore"), F_OK) < 0, "no restore leftover");
  free(before);
  free(after);
  CHECK(storage_snap_restore(sd, "nope", P(0, "env"), &err) < 0 && strstr(err.msg, "nope"), "restore missing fails");
  CHECK(storage_snap_rm(sd, "s1", &err) == 0, "rm");
  CHECK(storage_snap_list(sd, &v, &n, &err) == 0 && n == 0, "list empty after rm");
  free(v);
  CHECK(storage_snap_rm(sd, "s1", &err) < 0 && strstr(err.msg, "No such file"), "rm missing fails");
}

int main(void) {
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    perror("private mount namespace");
    return 1;
  }
  if (!mkdtemp(top)) {
    perror("mkdtemp");
    return 1;
  }
  int ok = build_src() == 0;
  CHECK(ok, "source tree built");
  if (ok) {
    test_exact_copy();
    test_oci_whiteouts();
    test_failures();
    test_snapshots();
  }
  cell_rm_rf_at(AT_FDCWD, top);
  UNIT_DONE();
}
