/* test_caps.c - capability parsing, --cap semantics and application. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "lib/log.h"
#include "unit.h"
#include "unit_child.h"

#define BIT(n) (UINT64_C(1) << (n))


/* Value of a hex "CapXxx:" line in text, or UINT64_MAX. */
static uint64_t status_mask(const char *text, const char *key) {
  const char *p = strstr(text, key);
  if (!p) return UINT64_MAX;
  return strtoull(p + strlen(key), NULL, 16);
}

static void print_status_caps(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Cap", 3) == 0) fputs(line, stdout);
  if (f) fclose(f);
}

static struct cell_caps apply_caps;
static struct cell_err apply_err;

static int child_apply_root(void *arg) {
  (void)arg;
  if (cell_caps_apply(&apply_caps, &apply_err) < 0) {
    printf("ERR %s\n", apply_err.msg);
    return 1;
  }
  print_status_caps();
  return 0;
}

/* Switch to uid/gid 1000 the way apply_user does, apply, then execve grep so
 * that the capabilities seen are those that survive execve. */
static int child_apply_user(void *arg) {
  (void)arg;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
      setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0) {
    printf("ERR setup: %s\n", strerror(errno));
    return 1;
  }
  if (cell_caps_apply(&apply_caps, &apply_err) < 0) {
    printf("ERR %s\n", apply_err.msg);
    return 1;
  }
  printf("pre-exec\n");
  print_status_caps();
  printf("post-exec\n");
  fflush(stdout);
  char *argv[] = {"grep", "^Cap", "/proc/self/status", NULL};
  char *envp[] = {NULL};
  execve("/bin/grep", argv, envp);
  printf("ERR execve: %s\n", strerror(errno));
  return 1;
}

int main(void) {
  struct cell_err err = {0};
  struct cell_caps c;
  int last = cell_cap_last_cap();

  /* names */
  CHECK_STR(cell_cap_name(0), "CAP_CHOWN", "cap 0 is CAP_CHOWN");
  CHECK_STR(cell_cap_name(13), "CAP_NET_RAW", "cap 13 is CAP_NET_RAW");
  CHECK_STR(cell_cap_name(40), "CAP_CHECKPOINT_RESTORE", "cap 40 name");
  CHECK(cell_cap_name(41) == NULL && cell_cap_name(-1) == NULL, "out of range names are NULL");
  CHECK(cell_cap_from_name("CAP_SYS_ADMIN") == 21, "CAP_SYS_ADMIN is 21");
  CHECK(cell_cap_from_name("CAP_FOO") == -1 && cell_cap_from_name("sys_admin") == -1,
        "unknown or unprefixed names are rejected");
  int roundtrip = 1;
  for (int i = 0; i <= cell_cap_max_known(); i++)
    if (cell_cap_from_name(cell_cap_name(i)) != i) roundtrip = 0;
  CHECK(roundtrip, "name/number round trip for every known capability");
  CHECK(last >= 36 && last <= 63, "cap_last_cap read from /proc");

  /* parse */
  cJSON *j = J("{\"bounding\":[\"CAP_CHOWN\",\"CAP_NET_RAW\"],\"effective\":[\"CAP_KILL\"],"
               "\"permitted\":[\"CAP_KILL\",\"CAP_SETUID\"],\"ambient\":[]}");
  CHECK(cell_caps_parse(j, &c, &err) == 0, "valid capabilities parse");
  CHECK(cell_caps_bounding(&c) == (BIT(0) | BIT(13)), "bounding mask");
  CHECK(cell_caps_effective(&c) == BIT(5), "effective mask");
  CHECK(cell_caps_permitted(&c) == (BIT(5) | BIT(7)), "permitted mask");
  CHECK(c.present[CELL_CAPS_AMBIENT] && cell_caps_ambient(&c) == 0, "empty ambient is present");
  CHECK(!c.present[CELL_CAPS_INHERITABLE], "missing inheritable is absent");
  cJSON_Delete(j);

  j = J("{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_NET_RAW\",\"CAP_FOO\"]}");
  CHECK(cell_caps_parse(j, &c, &err) < 0, "unknown capability rejected");
  CHECK_STR(err.msg, "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"",
            "unknown capability error names the field");
  cJSON_Delete(j);

  j = J("{\"effective\":[\"CAP_KILL\", 7]}");
  CHECK(cell_caps_parse(j, &c, &err) < 0, "non-string capability rejected");
  CHECK_STR(err.msg, "process.capabilities.effective[1]: must be a string",
            "non-string error names the field");
  cJSON_Delete(j);

  j = J("{\"ambient\":\"CAP_KILL\"}");
  CHECK(cell_caps_parse(j, &c, &err) < 0 && strstr(err.msg, "process.capabilities.ambient"),
        "a set that is not an array is rejected naming it");
  cJSON_Delete(j);

  j = J("[\"CAP_KILL\"]");
  CHECK(cell_caps_parse(j, &c, &err) < 0 && strstr(err.msg, "process.capabilities"),
        "capabilities that is not an object is rejected");
  cJSON_Delete(j);

  CHECK(cell_caps_parse(NULL, &c, &err) == 0 && !c.present[0] && c.set[0] == 0,
        "no capabilities object: all sets empty");

  /* names above the kernel's last cap are skipped (simulate an old kernel) */
  j = J("{\"permitted\":[\"CAP_KILL\",\"CAP_BPF\",\"CAP_PERFMON\"]}");
  CHECK(cell_caps_parse_last(j, 37, &c, &err) == 0, "caps newer than the kernel are not an error");
  CHECK(cell_caps_permitted(&c) == BIT(5), "caps newer than the kernel are skipped");
  /* ... with a warning through the logger (a JSON line with --log-format json) */
  {
    char logpath[] = "/tmp/cell-test-caps-log-XXXXXX";
    int lfd = mkstemp(logpath);
    struct cell_err le;
    CHECK(lfd >= 0 && cell_log_open(logpath, 1, 1, &le) == 0, "log opened");
    CHECK(cell_caps_parse_last(j, 37, &c, &err) == 0, "parse with a log file");
    char buf[4096] = "";
    FILE *lf = fopen(logpath, "r");
    size_t got = lf ? fread(buf, 1, sizeof buf - 1, lf) : 0;
    buf[got] = 0;
    if (lf) fclose(lf);
    CHECK(strstr(buf, "{\"level\":\"warning\",\"msg\":\"process.capabilities.permitted[1]: CAP_BPF is not supported") != NULL,
          "unsupported capability: a JSON warning line in the log");
    cell_log_open(NULL, 0, 0, &le);
    if (lfd >= 0) close(lfd);
    unlink(logpath);
  }
  cJSON_Delete(j);

  /* exec --cap */
  const char *add[] = {"CAP_NET_ADMIN", "CAP_SYS_PTRACE"};
  memset(&c, 0, sizeof c);
  c.set[CELL_CAPS_BOUNDING] = BIT(0);
  c.present[CELL_CAPS_BOUNDING] = true;
  CHECK(cell_caps_from_names(add, 2, &c, &err) == 0, "--cap accepted");
  uint64_t want = BIT(12) | BIT(19);
  CHECK(cell_caps_bounding(&c) == (want | BIT(0)) && cell_caps_effective(&c) == want &&
            cell_caps_permitted(&c) == want,
        "--cap adds to bounding, effective and permitted");
  CHECK(cell_caps_inheritable(&c) == 0 && cell_caps_ambient(&c) == 0,
        "--cap without inheritable in the config leaves inheritable and ambient");
  memset(&c, 0, sizeof c);
  c.present[CELL_CAPS_INHERITABLE] = true;
  CHECK(cell_caps_from_names(add, 1, &c, &err) == 0 && cell_caps_ambient(&c) == BIT(12) &&
            cell_caps_inheritable(&c) == 0,
        "--cap with inheritable in the config also adds ambient");
  const char *bad[] = {"CAP_KILL", "NET_ADMIN"};
  CHECK(cell_caps_from_names(bad, 2, &c, &err) < 0, "--cap with unknown name rejected");
  CHECK_STR(err.msg, "--cap[1]: unknown capability \"NET_ADMIN\"", "--cap error text");

  /* apply as root: drop CAP_NET_RAW from bounding, set ambient */
  /* "all" = what this test process holds (this host lacks CAP_SYS_RESOURCE) */
  FILE *sf = fopen("/proc/self/status", "r");
  char sbuf[8192] = "";
  size_t sn = sf ? fread(sbuf, 1, sizeof sbuf - 1, sf) : 0;
  if (sf) fclose(sf);
  sbuf[sn] = 0;
  uint64_t all = status_mask(sbuf, "CapPrm:");
  CHECK(all != UINT64_MAX && (all & BIT(13)), "test process holds CAP_NET_RAW");
  memset(&apply_caps, 0, sizeof apply_caps);
  apply_caps.set[CELL_CAPS_BOUNDING] = all & ~BIT(13);
  apply_caps.set[CELL_CAPS_EFFECTIVE] = all & ~BIT(13);
  apply_caps.set[CELL_CAPS_PERMITTED] = all & ~BIT(13);
  apply_caps.set[CELL_CAPS_INHERITABLE] = BIT(10);
  apply_caps.set[CELL_CAPS_AMBIENT] = BIT(10);
  int ws;
  const char *out = in_child(child_apply_root, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "apply as root succeeds");
  if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) printf("# %s", out);
  CHECK(status_mask(out, "CapBnd:") == (all & ~BIT(13)), "CapBnd lacks CAP_NET_RAW");
  CHECK(status_mask(out, "CapEff:") == (all & ~BIT(13)), "CapEff applied");
  CHECK(status_mask(out, "CapInh:") == BIT(10), "CapInh applied");
  CHECK(status_mask(out, "CapAmb:") == BIT(10), "CapAmb has CAP_NET_BIND_SERVICE");

  /* apply after switching to uid 1000 and check what survives execve */
  memset(&apply_caps, 0, sizeof apply_caps);
  uint64_t two = BIT(10) | BIT(13);
  apply_caps.set[CELL_CAPS_BOUNDING] = two;
  apply_caps.set[CELL_CAPS_EFFECTIVE] = two;
  apply_caps.set[CELL_CAPS_PERMITTED] = two;
  apply_caps.set[CELL_CAPS_INHERITABLE] = two;
  apply_caps.set[CELL_CAPS_AMBIENT] = BIT(10);
  out = in_child(child_apply_user, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "apply after setuid(1000) and execve succeed");
  const char *post = strstr(out, "post-exec");
  if (!post) printf("# %s", out);
  CHECK(status_mask(out, "CapBnd:") == two, "non-root: bounding reduced to two caps");
  CHECK(status_mask(out, "CapEff:") == two, "non-root: effective re-raised after setuid");
  CHECK(post && status_mask(post, "CapEff:") == BIT(10) && status_mask(post, "CapPrm:") == BIT(10),
        "non-root: only the ambient cap survives execve");
  CHECK(post && status_mask(post, "CapAmb:") == BIT(10), "non-root: CapAmb after execve");

  /* apply errors */
  memset(&apply_caps, 0, sizeof apply_caps);
  apply_caps.set[CELL_CAPS_BOUNDING] = all;
  apply_caps.set[CELL_CAPS_EFFECTIVE] = BIT(21);
  apply_caps.set[CELL_CAPS_PERMITTED] = BIT(5);
  out = in_child(child_apply_root, NULL, &ws);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 1 &&
            strstr(out, "effective has CAP_SYS_ADMIN which is not in process.capabilities.permitted"),
        "effective outside permitted: clear error");
  memset(&apply_caps, 0, sizeof apply_caps);
  apply_caps.set[CELL_CAPS_BOUNDING] = all;
  apply_caps.set[CELL_CAPS_EFFECTIVE] = apply_caps.set[CELL_CAPS_PERMITTED] = BIT(5);
  apply_caps.set[CELL_CAPS_AMBIENT] = BIT(5);
  out = in_child(child_apply_root, NULL, &ws);
  /* runc's behaviour (its own `runc spec` writes ambient without
   * inheritable): the ambient cap the kernel refuses is skipped, not fatal. */
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && status_mask(out, "CapAmb:") == 0 &&
            status_mask(out, "CapEff:") == BIT(5),
        "ambient without inheritable: skipped as runc does, the rest applied");
  if (!(all & BIT(24))) { /* this host: no CAP_SYS_RESOURCE */
    memset(&apply_caps, 0, sizeof apply_caps);
    apply_caps.set[CELL_CAPS_BOUNDING] = all;
    apply_caps.set[CELL_CAPS_EFFECTIVE] = apply_caps.set[CELL_CAPS_PERMITTED] = all | BIT(24);
    out = in_child(child_apply_root, NULL, &ws);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 1 &&
              strstr(out, "permitted has CAP_SYS_RESOURCE which this process does not hold"),
          "permitted cap the runtime lacks: clear error");
  }
  UNIT_DONE();
}
