/* test_cgroup_bpf.c - device rules -> BPF_PROG_TYPE_CGROUP_DEVICE program:
 * instruction counts, the kernel verifier accepting it (BPF_PROG_LOAD), and
 * real enforcement when attached to a cgroup2 directory (the unified
 * hierarchy works for this on hybrid hosts too), including replacement. */
#include "unit.h"
#include "cgroups/cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(const char *json, struct cell_dev_rule **r, size_t *n) {
  struct cell_err e;
  cJSON *j = cJSON_Parse(json);
  int rc = cell_dev_rules_parse(j, r, n, &e);
  if (rc < 0) printf("# %s\n", e.msg);
  cJSON_Delete(j);
  return rc;
}

/* In a child placed in cg: bit i set when open(paths[i], flags[i]) worked. */
static int probe(struct cell_cgroup *cg) {
  static const char *paths[] = {"/dev/null", "/dev/zero", "/dev/zero", "/dev/full"};
  static const int flags[] = {O_RDWR, O_RDONLY, O_WRONLY, O_RDONLY};
  int pfd[2];
  if (pipe(pfd) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(pfd[1]);
    if (read(pfd[0], &c, 1) != 1) _exit(255);
    int bits = 0;
    for (int i = 0; i < 4; i++) {
      int fd = open(paths[i], flags[i]);
      if (fd >= 0) {
        bits |= 1 << i;
        close(fd);
      }
    }
    _exit(bits);
  }
  close(pfd[0]);
  struct cell_err e;
  if (cell_cg_enter(cg, pid, &e) < 0) printf("# %s\n", e.msg);
  if (write(pfd[1], "x", 1) != 1) return -1;
  close(pfd[1]);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
  struct cell_err e = {0};
  struct cell_dev_rule *r = NULL;
  size_t n = 0;
  void *insns = NULL;
  size_t ni = 0;

  const char *rules = "[{\"allow\":false,\"access\":\"rwm\"},"
                      "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
                      "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rw\"}]";
  CHECK(parse(rules, &r, &n) == 0 && n == 3, "parse 3 rules");
  CHECK(r[1].type == 'c' && r[1].major == 1 && r[1].minor == 3 && r[1].access == 7, "rule 1 fields");
  CHECK(r[2].minor == -1 && r[2].access == 6, "rule 2: wildcard minor, rw");
  char line[64];
  cell_dev_rule_v1(&r[2], line, sizeof line);
  CHECK_STR(line, "c 136:* rw", "v1 line with wildcard");
  cell_dev_rule_v1(&r[0], line, sizeof line);
  CHECK_STR(line, "a", "v1 line for 'a'");

  CHECK(cell_dev_bpf_generate(r, n, &insns, &ni, &e) == 0, "generate");
  /* checked last-to-first: prologue 6 + (type,3 access,major)+2 = 7 + (type,major,minor)+2 = 5 + deny-all 2 */
  CHECK(ni == 20, "instruction count 20 (nothing after the unconditional deny-all)");
  int fd = cell_dev_bpf_load(insns, ni, &e);
  CHECK(fd >= 0, "verifier accepts the program");
  if (fd < 0) printf("# %s\n", e.msg);
  else close(fd);
  free(insns);
  free(r);

  /* no rules at all: deny everything, still valid */
  CHECK(cell_dev_bpf_generate(NULL, 0, &insns, &ni, &e) == 0 && ni == 8, "empty rule set: 8 insns");
  fd = cell_dev_bpf_load(insns, ni, &e);
  CHECK(fd >= 0, "empty program loads");
  if (fd >= 0) close(fd);
  free(insns);

  /* a block-device deny rule with partial access */
  CHECK(parse("[{\"allow\":true},{\"allow\":false,\"type\":\"b\",\"major\":8,\"access\":\"w\"}]", &r, &n) == 0, "parse b rule");
  CHECK(cell_dev_bpf_generate(r, n, &insns, &ni, &e) == 0 && ni == 6 + 7 + 2, "b deny rule count (allow-all ends it)");
  fd = cell_dev_bpf_load(insns, ni, &e);
  CHECK(fd >= 0, "b deny program loads");
  if (fd >= 0) close(fd);
  free(insns);
  free(r);

  /* enforcement on a real cgroup2 directory */
  char name[64];
  snprintf(name, sizeof name, "celltest-bpf-%d", (int)getpid());
  struct cell_cgroup *cg = NULL;
  int rc = cell_cg_create(name, "x", &cg, &e);
  CHECK(rc == 0, "create cgroup");
  if (rc < 0) {
    printf("# %s\n", e.msg);
    UNIT_DONE();
  }
  const char *u = cell_cg_path(cg, "");
  CHECK(u != NULL, "cgroup2 directory present");
  int cfd = u ? open(u, O_DIRECTORY | O_RDONLY) : -1;
  /* deny all; allow /dev/null rwm, /dev/zero read only */
  CHECK(parse("[{\"allow\":false},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
              "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"r\"}]", &r, &n) == 0,
        "parse enforcement rules");
  rc = cell_dev_bpf_apply(cfd, r, n, &e);
  CHECK(rc == 0, "attach program");
  if (rc < 0) printf("# %s\n", e.msg);
  free(r);
  int bits = probe(cg);
  printf("# probe bits: %d\n", bits);
  CHECK(bits == 3, "null rw + zero r allowed; zero w and full denied");
  /* replace: allow everything but /dev/null */
  CHECK(parse("[{\"allow\":true},{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3}]", &r, &n) == 0, "parse 2nd");
  rc = cell_dev_bpf_apply(cfd, r, n, &e);
  CHECK(rc == 0, "replace program");
  free(r);
  bits = probe(cg);
  printf("# probe bits: %d\n", bits);
  CHECK(bits == 14, "after replacement: only /dev/null denied (old program detached)");
  if (cfd >= 0) close(cfd);
  rc = cell_cg_destroy(cg, &e);
  CHECK(rc == 0, "destroy");
  cell_cg_free(cg);
  UNIT_DONE();
}
