/* test_lib_path.c - lib/path.c: resolution inside a root never leaves it,
 * through openat2 and through the user-space walk (also when openat2 is
 * filtered out by seccomp, as the fallback runs in production). */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/path.h"
#include "unit.h"

typedef int (*open_fn)(int, const char *, int);

static int put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  close(fd);
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

/* The text of path opened in root with fn, or "ERR:<errno>". */
static char *read_in(open_fn fn, int rootfd, const char *path) {
  static char out[256];
  int fd = fn(rootfd, path, O_RDONLY);
  if (fd < 0) {
    snprintf(out, sizeof out, "ERR:%d", errno);
    return out;
  }
  char *t = cell_read_fd(fd, NULL);
  close(fd);
  snprintf(out, sizeof out, "%s", t ? t : "READFAIL");
  free(t);
  return out;
}

static void suite(const char *which, open_fn fn, int rootfd) {
  char name[160], enoent[16], eloop[16], enotdir[16];
  snprintf(enoent, sizeof enoent, "ERR:%d", ENOENT);
  snprintf(eloop, sizeof eloop, "ERR:%d", ELOOP);
  snprintf(enotdir, sizeof enotdir, "ERR:%d", ENOTDIR);
#define T(path, want, what)                          \
  snprintf(name, sizeof name, "%s: %s", which, what); \
  CHECK_STR(read_in(fn, rootfd, path), want, name)
  T("etc/passwd", "inside", "a plain path");
  T("/etc/passwd", "inside", "an absolute path starts at the root");
  T("/../../../etc/passwd", "inside", "leading .. stays at the root");
  T("etc/../etc/./passwd", "inside", ". and .. inside the root");
  T("abs/passwd", "inside", "absolute symlink to /etc resolves inside the root");
  T("absfile", "inside", "absolute symlink to /etc/passwd as the last component");
  T("esc/passwd", "inside", "relative ../../.. symlink is clamped at the root");
  T("d/deep", "inside", "nested ../../../../etc/passwd symlink is clamped");
  T("chain", "inside", "a chain of symlinks");
  T("hostfd", enoent, "symlink to the outside directory's absolute path finds nothing");
  T("loop", eloop, "a symlink loop: ELOOP");
  T("etc/passwd/x", enotdir, "a file as a directory: ENOTDIR");
  T("missing/x", enoent, "a missing component: ENOENT");
#undef T
  int fd = fn(rootfd, "/..", O_PATH);
  struct stat a, b;
  snprintf(name, sizeof name, "%s: \"/..\" with O_PATH is the root itself", which);
  CHECK(fd >= 0 && fstat(fd, &a) == 0 && fstat(rootfd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
        name);
  if (fd >= 0) close(fd);
  fd = fn(rootfd, "abs", O_PATH | O_DIRECTORY);
  struct stat e;
  snprintf(name, sizeof name, "%s: the symlink to /etc opens the root's etc", which);
  CHECK(fd >= 0 && fstat(fd, &a) == 0 && fstatat(rootfd, "etc", &e, 0) == 0 && a.st_ino == e.st_ino, name);
  if (fd >= 0) close(fd);
}

int main(void) {
  char base[] = "/tmp/cell-test-lib-path-XXXXXX";
  if (!mkdtemp(base)) return perror("mkdtemp"), 1;
  char root[600], p[900], outside[600];
  snprintf(root, sizeof root, "%s/a/b/root", base);
  snprintf(outside, sizeof outside, "%s/secret", base);
  snprintf(p, sizeof p, "%s/etc", root);
  if (cell_mkdir_p(p, 0755) < 0) return perror("mkdir"), 1;
  /* the host-side decoys the symlinks would reach if they escaped */
  snprintf(p, sizeof p, "%s/a/etc", base);
  cell_mkdir_p(p, 0755);
  snprintf(p, sizeof p, "%s/a/etc/passwd", base);
  put(p, "OUTSIDE");
  snprintf(p, sizeof p, "%s/etc", base);
  cell_mkdir_p(p, 0755);
  snprintf(p, sizeof p, "%s/etc/passwd", base);
  put(p, "OUTSIDE");
  cell_mkdir_p(outside, 0755);
  snprintf(p, sizeof p, "%s/f", outside);
  put(p, "OUTSIDE");
  snprintf(p, sizeof p, "%s/etc/passwd", root);
  put(p, "inside");
  snprintf(p, sizeof p, "%s/d/e", root);
  cell_mkdir_p(p, 0755);
  int rootfd = open(root, O_DIRECTORY | O_PATH | O_CLOEXEC);
  int ok = symlinkat("/etc", rootfd, "abs") == 0 && symlinkat("/etc/passwd", rootfd, "absfile") == 0 &&
           symlinkat("../../../etc", rootfd, "esc") == 0 && symlinkat("e/../../../../etc/passwd", rootfd, "d/deep") == 0 &&
           symlinkat("absfile", rootfd, "chain") == 0 && symlinkat("loop", rootfd, "loop") == 0;
  snprintf(p, sizeof p, "%s/f", outside);
  ok = ok && symlinkat(p, rootfd, "hostfd") == 0;
  CHECK(ok, "fixture: symlinks pointing out of the root");
  /* sanity: the host itself does follow them out */
  snprintf(p, sizeof p, "%s/esc/passwd", root);
  char *host = cell_read_file(p, NULL, NULL);
  CHECK(host && !strcmp(host, "OUTSIDE"), "fixture: a plain open of esc/passwd escapes to the decoy");
  free(host);
  snprintf(p, sizeof p, "%s/d/deep", root);
  host = cell_read_file(p, NULL, NULL);
  CHECK(host && !strcmp(host, "OUTSIDE"), "fixture: a plain open of d/deep escapes to the decoy");
  free(host);

  suite("openat2", cell_path_open_in_root, rootfd);
  suite("walk", cell_path_open_in_root_walk, rootfd);

  /* the fallback as production reaches it: openat2 filtered (ENOSYS) */
  pid_t pid = fork();
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) < 0 || seccomp_load(ctx) < 0)
      _exit(2);
    if (cell_openat2(rootfd, "etc", O_PATH, 0) >= 0 || errno != ENOSYS) _exit(3);
    const char *r1 = read_in(cell_path_open_in_root, rootfd, "esc/passwd");
    if (strcmp(r1, "inside")) _exit(4);
    const char *r2 = read_in(cell_path_open_in_root, rootfd, "abs/passwd");
    _exit(strcmp(r2, "inside") ? 5 : 0);
  }
  int st = -1;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "openat2 filtered by seccomp: the walk resolves inside the root");
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) printf("#   child status %d\n", st);

  close(rootfd);
  cell_rm_rf_at(AT_FDCWD, base);
  UNIT_DONE();
}
