/* test_idrange.c - env/idrange.c: parallel allocation, free and reuse,
 * host subuid ranges avoided, corrupt files refused with their name, stale
 * entries pruned, idmapped mounts. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "env/idrange.h"

static char root[64];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void rm_rf(const char *dir) {
  pid_t p = fork();
  if (p == 0) {
    execlp("rm", "rm", "-rf", "--one-file-system", dir, (char *)NULL);
    _exit(127);
  }
  waitpid(p, NULL, 0);
}

static int cmp_u(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

static void test_parallel(void) {
  enum { N = 50 };
  int pfd[2];
  if (pipe(pfd) < 0) return;
  pid_t kids[N];
  for (int i = 0; i < N; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      char name[32];
      snprintf(name, sizeof name, "env%d", i);
      unsigned base = 0;
      struct cell_err e = {0};
      if (env_idrange_alloc(root, name, &base, &e) < 0) {
        fprintf(stderr, "child %d: %s\n", i, e.msg);
        base = 0;
      }
      if (write(pfd[1], &base, sizeof base) != sizeof base) _exit(2);
      _exit(base ? 0 : 1);
    }
  }
  close(pfd[1]);
  unsigned bases[N];
  int got = 0, failed = 0;
  while (got < N && read(pfd[0], &bases[got], sizeof bases[got]) == sizeof bases[got]) got++;
  close(pfd[0]);
  for (int i = 0; i < N; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) failed++;
  }
  CHECK(got == N && failed == 0, "50 parallel allocations all succeed");
  qsort(bases, N, sizeof *bases, cmp_u);
  bool apart = true, bounds = true;
  for (int i = 0; i < N; i++) {
    if (bases[i] < ENV_IDRANGE_FIRST || (unsigned long long)bases[i] + ENV_IDRANGE_SIZE > ENV_IDRANGE_LIMIT) bounds = false;
    if (i && (unsigned long long)bases[i - 1] + ENV_IDRANGE_SIZE > bases[i]) apart = false;
  }
  CHECK(apart, "no two of the 50 ranges overlap");
  CHECK(bounds, "every range lies in 1,000,000,000 .. the last uid");
  CHECK(bases[N - 1] == ENV_IDRANGE_FIRST + (N - 1) * ENV_IDRANGE_SIZE, "the ranges are packed from the first slot");
  struct env_idrange *v;
  size_t n;
  struct cell_err e = {0};
  CHECK(env_idrange_list(root, &v, &n, &e) == 0 && n == N, "list shows the 50 allocations");
  bool sorted = true;
  for (size_t i = 1; i < n; i++) sorted = sorted && v[i - 1].base < v[i].base;
  CHECK(sorted, "list is sorted by base");
  free(v);
}

static void test_free_realloc(void) {
  struct cell_err e = {0};
  unsigned b7, again, nb, g;
  CHECK(env_idrange_get(root, "env7", &b7, &e) == 0, "get finds env7");
  CHECK(env_idrange_alloc(root, "env7", &again, &e) == 0 && again == b7, "alloc of an existing name is idempotent");
  CHECK(env_idrange_free(root, "env7", &e) == 0, "free env7");
  CHECK(env_idrange_get(root, "env7", &g, &e) == 1, "env7 has no range after free");
  CHECK(env_idrange_free(root, "env7", &e) == 0, "freeing a name without a range is not an error");
  CHECK(env_idrange_alloc(root, "newcomer", &nb, &e) == 0 && nb == b7, "the freed range is reused");
  CHECK(env_idrange_alloc(root, "../x", &nb, &e) < 0 && strstr(e.msg, "../x"), "a name with a slash is refused");
  CHECK(env_idrange_alloc(root, "a b", &nb, &e) < 0, "a name with a space is refused");
  CHECK(env_idrange_alloc(root, "", &nb, &e) < 0, "an empty name is refused");
  /* a temp file a killed writer left behind does not matter */
  char p[128];
  snprintf(p, sizeof p, "%s/idranges.tmp", root);
  write_file(p, "garbage\n");
  CHECK(env_idrange_alloc(root, "after-crash", &nb, &e) == 0, "a leftover idranges.tmp is overwritten");
  CHECK(access(p, F_OK) < 0, "no temp file stays after a write");
}

static void test_subids(void) {
  char r2[64], su[96], sg[96];
  snprintf(r2, sizeof r2, "%s/sub", root);
  snprintf(su, sizeof su, "%s/subuid", root);
  snprintf(sg, sizeof sg, "%s/subgid", root);
  write_file(su, "root:1000000000:131072\n# comment\nbroken line\n");
  write_file(sg, "1000:1000200000:10\n");
  env_idrange_set_subid_files(su, sg);
  struct cell_err e = {0};
  unsigned a, b, c;
  CHECK(env_idrange_alloc(r2, "a", &a, &e) == 0 && a == ENV_IDRANGE_FIRST + 2 * ENV_IDRANGE_SIZE,
        "a range never overlaps the host's /etc/subuid ranges");
  CHECK(env_idrange_alloc(r2, "b", &b, &e) == 0 && b == ENV_IDRANGE_FIRST + 4 * ENV_IDRANGE_SIZE &&
            (b >= 1000200010u || b + ENV_IDRANGE_SIZE <= 1000200000u),
        "nor /etc/subgid's (an unaligned range skips its slot)");
  env_idrange_set_subid_files(NULL, NULL);
  CHECK(env_idrange_alloc(r2, "c", &c, &e) == 0 && c != a && c != b, "back to the default files");
  env_idrange_set_subid_files("/dev/null", "/dev/null");
}

static void expect_corrupt(const char *text, const char *what, const char *needle) {
  char r3[64], f[96];
  snprintf(r3, sizeof r3, "%s/corrupt", root);
  mkdir(r3, 0700);
  snprintf(f, sizeof f, "%s/idranges", r3);
  write_file(f, text);
  struct cell_err e = {0};
  unsigned b;
  int r = env_idrange_alloc(r3, "x", &b, &e);
  char name[160];
  snprintf(name, sizeof name, "corrupt file (%s): an error naming the file and line", what);
  bool ok = r < 0 && strstr(e.msg, f) && strstr(e.msg, needle);
  CHECK(ok, name);
  if (!ok) printf("#   r=%d msg='%s'\n", r, e.msg);
  char *after = NULL;
  FILE *fp = fopen(f, "r");
  if (fp) {
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    after = strdup(buf);
    fclose(fp);
  }
  snprintf(name, sizeof name, "corrupt file (%s): left as it was", what);
  CHECK(after && !strcmp(after, text), name);
  free(after);
}

static void test_corrupt(void) {
  expect_corrupt("1000000000 a\nnot a line\n", "garbage", ":2:");
  expect_corrupt("1000000000 a\n1000000000 b\n", "overlap", ":2:");
  expect_corrupt("1000000000 a\n1000065536 a\n", "duplicate name", ":2:");
  expect_corrupt("5 a\n", "base below the first", ":1:");
  expect_corrupt("1000000000 a\n1000065536 b", "truncated line", ":2:");
}

static void test_prune(void) {
  char r4[64], d[128];
  snprintf(r4, sizeof r4, "%s/prune", root);
  struct cell_err e = {0};
  unsigned b;
  env_idrange_alloc(r4, "alive", &b, &e);
  env_idrange_alloc(r4, "gone1", &b, &e);
  env_idrange_alloc(r4, "gone2", &b, &e);
  snprintf(d, sizeof d, "%s/vps", r4);
  mkdir(d, 0700);
  snprintf(d, sizeof d, "%s/vps/alive", r4);
  mkdir(d, 0700);
  size_t removed = 0;
  CHECK(env_idrange_prune(r4, NULL, NULL, &removed, &e) == 0 && removed == 2,
        "prune drops the entries whose ROOT/vps/NAME is gone");
  CHECK(env_idrange_get(r4, "alive", &b, &e) == 0 && env_idrange_get(r4, "gone1", &b, &e) == 1,
        "prune keeps the living one");
}

static void test_idmap(void) {
  char src[64], dst[64], f[96], g[96];
  snprintf(src, sizeof src, "%s/src", root);
  snprintf(dst, sizeof dst, "%s/dst", root);
  mkdir(src, 0755);
  mkdir(dst, 0755);
  snprintf(f, sizeof f, "%s/owned-by-root", src);
  write_file(f, "x");
  struct cell_err e = {0};
  int r = env_idrange_idmap_mount(src, dst, 1000000000u, ENV_IDRANGE_SIZE, &e);
  if (r < 0) printf("#   %s\n", e.msg);
  CHECK(r == 0, "idmapped mount of a directory");
  snprintf(g, sizeof g, "%s/owned-by-root", dst);
  struct stat sb = {0};
  CHECK(r == 0 && stat(g, &sb) == 0 && sb.st_uid == 1000000000u && sb.st_gid == 1000000000u,
        "through the idmapped mount root's file shows as the range's base");
  stat(f, &sb);
  CHECK(sb.st_uid == 0, "the source is not chowned");
  if (r == 0) umount2(dst, MNT_DETACH);
  CHECK(env_idrange_idmap_mount(src, dst, 0, ENV_IDRANGE_SIZE, &e) < 0, "idmap onto host root ids is refused");
  CHECK(env_idrange_idmap_mount("/nonexistent-henv2", dst, 1000000000u, ENV_IDRANGE_SIZE, &e) < 0 &&
            strstr(e.msg, "/nonexistent-henv2"),
        "a missing source is named");
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/henv2-idrange.XXXXXX");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  /* the host's own /etc/subuid must not shift the expected slots */
  env_idrange_set_subid_files("/dev/null", "/dev/null");
  test_parallel();
  test_free_realloc();
  test_subids();
  test_corrupt();
  test_prune();
  test_idmap();
  rm_rf(root);
  UNIT_DONE();
}
