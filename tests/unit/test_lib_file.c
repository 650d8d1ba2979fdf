/* test_lib_file.c - lib/file.c: whole-file reads, atomic write, mkdir -p, rm -rf. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/file.h"
#include "unit.h"

static int put(int dirfd, const char *name, const char *text) {
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  close(fd);
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

static int exists_at(int dirfd, const char *name) {
  struct stat sb;
  return fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

int main(void) {
  char dir[] = "/tmp/cell-test-lib-file-XXXXXX";
  if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
  int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  char path[512];
  struct cell_err err = {0};

  /* reads: empty, small, larger than the first guess, a pipe (no size) */
  put(dfd, "empty", "");
  snprintf(path, sizeof path, "%s/empty", dir);
  size_t len = 99;
  char *t = cell_read_file(path, &len, &err);
  CHECK(t && len == 0 && t[0] == '\0', "read_file of an empty file: \"\" and length 0");
  free(t);
  size_t big = 3 * 4096 + 17;
  char *want = malloc(big + 1);
  for (size_t i = 0; i < big; i++) want[i] = (char)('a' + i % 26);
  want[big] = '\0';
  put(dfd, "big", want);
  snprintf(path, sizeof path, "%s/big", dir);
  t = cell_read_file(path, &len, &err);
  CHECK(t && len == big && memcmp(t, want, big) == 0 && t[big] == '\0', "read_file of 12 KiB: every byte, NUL terminated");
  free(t);
  t = cell_read_fileat(dfd, "big", &len);
  CHECK(t && len == big && strcmp(t, want) == 0, "read_fileat relative to a dir fd");
  free(t);
  int pfd[2];
  if (pipe(pfd) == 0) {
    if (write(pfd[1], "through a pipe\n", 15) != 15) return 1;
    close(pfd[1]);
    t = cell_read_fd(pfd[0], &len);
    CHECK(t && len == 15 && !strcmp(t, "through a pipe\n"), "read_fd of a pipe reads to EOF");
    free(t);
    close(pfd[0]);
  }
  snprintf(path, sizeof path, "%s/missing", dir);
  memset(&err, 0, sizeof err);
  t = cell_read_file(path, NULL, &err);
  CHECK(!t && err.errnum == ENOENT && strstr(err.msg, path) && strstr(err.msg, "No such file"),
        "read_file of a missing file: ENOENT, message names the path");
  errno = 0;
  CHECK(!cell_read_fileat(dfd, "missing", NULL) && errno == ENOENT, "read_fileat of a missing file: NULL, ENOENT");

  /* read_small: one bounded read, NUL terminated */
  char small[8];
  snprintf(path, sizeof path, "%s/big", dir);
  CHECK(cell_read_small(path, small, sizeof small) == 7 && !strcmp(small, "abcdefg"), "read_small stops at size - 1 bytes");
  snprintf(path, sizeof path, "%s/empty", dir);
  CHECK(cell_read_small(path, small, sizeof small) == 0 && small[0] == '\0', "read_small of an empty file: 0, \"\"");
  snprintf(path, sizeof path, "%s/missing", dir);
  errno = 0;
  CHECK(cell_read_small(path, small, sizeof small) == -1 && errno == ENOENT && small[0] == '\0',
        "read_small of a missing file: -1, ENOENT, buffer \"\"");

  /* pread_all: from offset 0 whatever the fd's offset, into a reused buffer */
  int bfd = openat(dfd, "big", O_RDONLY | O_CLOEXEC);
  lseek(bfd, 100, SEEK_SET);
  char *buf = NULL;
  size_t blen = 0, bcap = 0;
  CHECK(cell_pread_all(bfd, &buf, &blen, &bcap) == 0 && blen == big && !strcmp(buf, want) && bcap > big,
        "pread_all reads the whole file from offset 0");
  int efd = openat(dfd, "empty", O_RDONLY | O_CLOEXEC);
  CHECK(cell_pread_all(efd, &buf, &blen, &bcap) == 0 && blen == 0 && buf[0] == '\0', "pread_all reuses the buffer: empty file");
  close(efd);
  close(bfd);
  free(buf);

  /* write_atomic: replaces, no .tmp left, mode of a new file */
  CHECK(cell_write_atomic_at(dfd, "state", "one", 3, 0600, &err) == 0, "write_atomic creates");
  struct stat sb;
  CHECK(fstatat(dfd, "state", &sb, 0) == 0 && (sb.st_mode & 0777) == 0600, "new file has the given mode");
  CHECK(cell_write_atomic_at(dfd, "state", "second", 6, 0600, &err) == 0, "write_atomic replaces");
  t = cell_read_fileat(dfd, "state", &len);
  CHECK(t && !strcmp(t, "second") && len == 6, "the new content, whole");
  free(t);
  CHECK(!exists_at(dfd, "state.tmp"), "no state.tmp left behind");
  memset(&err, 0, sizeof err);
  CHECK(cell_write_atomic_at(dfd, "nodir/x", "z", 1, 0600, &err) < 0 && err.errnum == ENOENT &&
            strstr(err.msg, "nodir/x.tmp"),
        "write_atomic into a missing directory fails naming the tmp file");

  /* mkdir -p */
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  CHECK(cell_mkdir_p(path, 0700) == 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
        "mkdir_p creates every component with the mode");
  CHECK(cell_mkdir_p(path, 0700) == 0, "mkdir_p of an existing tree succeeds");
  snprintf(path, sizeof path, "%s/big/sub", dir);
  errno = 0;
  CHECK(cell_mkdir_p(path, 0700) < 0 && errno == ENOTDIR, "mkdir_p below a file: ENOTDIR");
  char longp[5000];
  memset(longp, 'x', sizeof longp - 1);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  errno = 0;
  CHECK(cell_mkdir_p(longp, 0700) < 0 && errno == ENAMETOOLONG, "mkdir_p past PATH_MAX: ENAMETOOLONG");

  /* rm -rf at a dir fd, symlinks not followed */
  char outside[] = "/tmp/cell-test-lib-file-out-XXXXXX";
  if (!mkdtemp(outside)) return perror("mkdtemp"), 1;
  int ofd = open(outside, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  put(ofd, "keep", "keep");
  int afd = openat(dfd, "a/b", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  put(afd, "f", "x");
  CHECK(symlinkat(outside, afd, "link") == 0, "a symlink to an outside directory inside the tree");
  close(afd);
  CHECK(cell_rm_rf_at(dfd, "a") == 0 && !exists_at(dfd, "a"), "rm_rf removes the whole tree");
  CHECK(exists_at(ofd, "keep"), "rm_rf removed the symlink, not what it points to");
  CHECK(cell_rm_rf_at(dfd, "a") == 0, "rm_rf of a missing name succeeds");
  CHECK(cell_rm_rf_at(dfd, "big") == 0 && !exists_at(dfd, "big"), "rm_rf of a plain file unlinks it");

  unlinkat(ofd, "keep", 0);
  close(ofd);
  rmdir(outside);
  cell_rm_rf_at(AT_FDCWD, dir);
  close(dfd);
  free(want);
  UNIT_DONE();
}
